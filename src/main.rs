fn main() -> std::process::ExitCode {
    cleanclicks::cli::main()
}
