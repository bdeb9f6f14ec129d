//! Which integration is calling, guessed from the User-Agent.

/// A short name for the badge; "Unknown client" when nothing matches.
pub fn detect(user_agent: Option<&str>) -> &'static str {
    let Some(ua) = user_agent.map(str::to_ascii_lowercase) else { return "Unknown client" };
    const KNOWN: &[(&str, &str)] = &[
        ("zapier", "Zapier"),
        ("integromat", "Make"),
        ("make/", "Make"),
        ("make.com", "Make"),
        ("n8n", "n8n"),
        ("hubspot", "HubSpot"),
        ("pipedream", "Pipedream"),
        ("workato", "Workato"),
        ("tray.io", "Tray.io"),
        ("segment", "Segment"),
        ("postmanruntime", "Postman"),
        ("insomnia", "Insomnia"),
        ("curl/", "curl"),
        ("wget", "Wget"),
        ("python-requests", "Python requests"),
        ("python-httpx", "Python httpx"),
        ("aiohttp", "Python aiohttp"),
        ("python-urllib", "Python urllib"),
        ("node-fetch", "Node"),
        ("undici", "Node"),
        ("axios", "Node"),
        ("got (", "Node"),
        ("node", "Node"),
        ("go-http-client", "Go"),
        ("okhttp", "Java / Android"),
        ("java/", "Java"),
        ("apache-httpclient", "Java"),
        ("guzzlehttp", "PHP"),
        ("php", "PHP"),
        ("ruby", "Ruby"),
        ("faraday", "Ruby"),
        ("dotnet", ".NET"),
        (".net", ".NET"),
        ("reqwest", "Rust"),
    ];
    KNOWN.iter().find(|(needle, _)| ua.contains(needle)).map_or("Unknown client", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::detect;

    #[test]
    fn recognises_common_integrations() {
        for (ua, name) in [
            ("Zapier", "Zapier"),
            ("Integromat/production", "Make"),
            ("n8n", "n8n"),
            ("HubSpot Connect 2.0 (http://dev.hubspot.com/)", "HubSpot"),
            ("curl/8.5.0", "curl"),
            ("python-requests/2.31.0", "Python requests"),
            ("node-fetch/1.0", "Node"),
            ("Go-http-client/1.1", "Go"),
            ("Mozilla/5.0 something", "Unknown client"),
        ] {
            assert_eq!(detect(Some(ua)), name, "{ua}");
        }
        assert_eq!(detect(None), "Unknown client");
    }
}
