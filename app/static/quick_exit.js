/* Signpost quick exit. Loaded as an external script (CSP: script-src 'self').
 * - click on #sp-exit (event delegation, gradio renders late)
 * - Shift pressed 3 times within 1.2 s
 * Also turns spellcheck, autocomplete and autocorrect off on text fields.
 * Blanks the page immediately, then navigates the TOP window (works from a
 * cross-origin iframe if the embedder's sandbox allows top navigation),
 * falling back to navigating this frame. */
(function () {
  "use strict";
  var me = document.currentScript;
  var EXIT_URL = (me && me.dataset.exitUrl) || "https://www.bbc.co.uk/weather";
  var fired = false;

  function leave() {
    if (fired) return;
    fired = true;
    try {
      document.documentElement.style.visibility = "hidden";
      document.title = "";
      if (document.body) document.body.innerHTML = "";
    } catch (e) {}
    try {
      // replace(): the Signpost page does not stay in the session history entry
      window.top.location.replace(EXIT_URL);
      // top navigation may be silently blocked (Chrome framebusting
      // intervention logs an error instead of throwing), so also move this frame.
      if (window.top !== window.self) {
        setTimeout(function () { window.location.replace(EXIT_URL); }, 150);
      }
    } catch (e) {
      window.location.replace(EXIT_URL);
    }
  }
  window.signpostQuickExit = leave;

  document.addEventListener(
    "click",
    function (ev) {
      var t = ev.target;
      if (t && t.closest && t.closest("#sp-exit")) {
        ev.preventDefault();
        ev.stopPropagation();
        leave();
      }
    },
    true
  );

  // Privacy: browsers send text in fields with spellcheck on to cloud spellcheckers
  // ("enhanced spell check"). Turn it, autocomplete and autocorrect off on every text
  // field before anything is typed (gradio renders late, so on focus and on render).
  function quiet(el) {
    if (!el || !el.matches || !el.matches("textarea, input[type=text], input:not([type])")) return;
    el.setAttribute("spellcheck", "false");
    el.setAttribute("autocomplete", "off");
    el.setAttribute("autocorrect", "off");
    el.setAttribute("autocapitalize", "off");
  }
  document.addEventListener("focusin", function (ev) { quiet(ev.target); }, true);
  new MutationObserver(function () {
    document.querySelectorAll("textarea, input[type=text]").forEach(quiet);
  }).observe(document.documentElement, { childList: true, subtree: true });

  var presses = [];
  window.addEventListener(
    "keydown",
    function (ev) {
      if (ev.key !== "Shift" || ev.repeat) return;
      var now = Date.now();
      presses = presses.filter(function (t) { return now - t < 1200; });
      presses.push(now);
      if (presses.length >= 3) leave();
    },
    true
  );
})();
