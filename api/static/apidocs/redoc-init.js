// GridSight's /redoc: starts the vendored ReDoc on this origin's /openapi.json.
// ReDoc's styled-components write <style> elements: they carry this response's nonce,
// which the page's CSP allows (style-src 'self' 'nonce-...'); scripts stay 'self' only.
(function () {
  "use strict";
  var root = document.getElementById("redoc");
  Redoc.init(root.getAttribute("data-spec-url"), {
    nonce: root.getAttribute("data-style-nonce"),
    hideDownloadButton: false
  }, root);
})();
