// Progressive enhancement only: every control works without this file.
(function () {
  "use strict";

  // Delete: Confirm works only once the key's name is typed exactly (the server checks
  // it too). The name comes from the field's data-confirm-match, or else from the
  // <strong> in its label ("Type <strong>NAME</strong> to confirm").
  function expectedName(input) {
    var expected = input.getAttribute("data-confirm-match");
    if (expected !== null) return expected;
    if (!input.id || !input.form) return null;
    var strong = input.form.querySelector('label[for="' + (window.CSS && CSS.escape ? CSS.escape(input.id) : input.id) + '"] strong');
    return strong ? strong.textContent : null;
  }

  // As the server: any dash or quote counts as the plain one, runs of spaces as one
  // ("Zapier – orders" has an en dash that most keyboards cannot type).
  function canonical(text) {
    return text
      .replace(/[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]/g, "-")
      .replace(/[\u2018\u2019\u201B\u2032]/g, "'")
      .replace(/[\u201C\u201D\u201F\u2033]/g, '"')
      .trim()
      .split(/\s+/)
      .join(" ");
  }

  function syncConfirm(input) {
    var expected = expectedName(input);
    var button = input.form && input.form.querySelector("button[type=submit]");
    if (expected === null || !button) return;
    var matches = canonical(input.value) === canonical(expected);
    button.disabled = !matches;
    // Say why Confirm stays disabled once something has been typed.
    var hint = input.form.querySelector("[data-confirm-hint]");
    if (!hint) {
      hint = document.createElement("p");
      hint.className = "field-hint";
      hint.setAttribute("data-confirm-hint", "");
      hint.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", hint);
    }
    hint.textContent = matches || input.value.trim() === "" ? "" : "Not yet: type the name exactly as shown, capitals included.";
  }

  function initConfirms(root) {
    Array.prototype.forEach.call(root.querySelectorAll("input[name=confirm_name]"), syncConfirm);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input[name=confirm_name]")) syncConfirm(event.target);
  });
  initConfirms(document);

  // Copy needs this script, so it is only shown once the script runs.
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy-target][hidden]"), function (button) {
    button.hidden = false;
  });

  // Dialogs: open a <dialog> instead of following the link; focus returns to the opener.
  function openDialog(dialog, opener) {
    initConfirms(dialog);
    dialog.showModal();
    var first = dialog.querySelector("input:not([type=hidden]), button, a[href]");
    if (first) first.focus();
    dialog.addEventListener("close", function () {
      // A cancelled dialog starts fresh next time (no half-typed name left behind).
      Array.prototype.forEach.call(dialog.querySelectorAll("form"), function (form) { form.reset(); });
      if (opener) opener.focus();
    }, { once: true });
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && dialog.showModal) { event.preventDefault(); openDialog(dialog, opener); }
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close();
      return;
    }
    // Revoke / Restore / Delete: load the confirmation page's form into a dialog.
    var confirmLink = event.target.closest("[data-confirm-dialog]");
    if (confirmLink) {
      var target = document.getElementById("confirm-dialog");
      if (!target || !target.showModal || !window.fetch) return;
      event.preventDefault();
      fetch(confirmLink.href, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var content = doc.querySelector("[data-confirm-content]");
          if (!content) throw new Error("no confirmation");
          target.replaceChildren.apply(target, Array.prototype.slice.call(content.childNodes).map(function (n) { return document.importNode(n, true); }));
          openDialog(target, confirmLink);
        })
        .catch(function () { window.location.href = confirmLink.href; });
      return;
    }
    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy-target"));
      var feedback = document.getElementById("copy-feedback");
      var done = function () {
        copy.textContent = "Copied";
        if (feedback) feedback.textContent = "Key copied to the clipboard.";
        setTimeout(function () { copy.textContent = "Copy"; }, 2000);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(source.value).then(done, function () { source.select(); document.execCommand("copy"); done(); });
      } else {
        source.select(); document.execCommand("copy"); done();
      }
    }
  });

  // A form sent back with an error (a taken name, a mistyped confirmation): put the
  // cursor in the field to fix, so keyboard and screen reader users land on it.
  var invalid = document.querySelector("form [aria-invalid=true]");
  if (invalid && typeof invalid.focus === "function") invalid.focus();
  // After an action (revoke, delete, …) the page comes back with a flash message: start
  // there, so keyboard and screen reader users continue from what just happened.
  var flash = document.querySelector("#flash-region .flash");
  if (flash && !invalid && !document.querySelector("[autofocus]")) {
    flash.setAttribute("tabindex", "-1");
    flash.focus();
  }

  // Select the whole key on focus, so manual copying is one keystroke.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-copy-source]")) event.target.select();
  });

  // One click, one key: disable Create once the form is on its way.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-disable-on-submit")) {
      if (form.dataset.submitted) { event.preventDefault(); return; }
      form.dataset.submitted = "1";
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.textContent = "Creating…"; }
    }
  });
})();
