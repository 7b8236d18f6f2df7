// Fill the signup form's time zone from the browser. Without JavaScript the field keeps UTC.
// A file, not an inline script: the Content-Security-Policy allows scripts from this site only.
(function () {
  var field = document.querySelector("[data-browser-timezone]");
  if (!field || field.value !== "UTC" || !window.Intl) return;
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) field.value = zone;
  } catch (e) { /* keep UTC */ }
})();
