// GridSight's /docs: starts the vendored Swagger UI on this origin's /openapi.json.
// A file, not an inline script, so the page keeps the dashboard's CSP (script-src 'self').
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    persistAuthorization: false,
    validatorUrl: null // the default badge would load from validator.swagger.io
  });
})();
