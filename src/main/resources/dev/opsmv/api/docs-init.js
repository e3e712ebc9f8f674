// Swagger UI from the jar, the document from this server: nothing is fetched from anywhere else
// (validatorUrl null: no badge from validator.swagger.io).
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true
});
