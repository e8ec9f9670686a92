// Starts Swagger UI on /schema (a file, not an inline script: the page runs under our CSP).
// "Try it out" from a signed-in browser sends the session cookie; the CSRF token goes with it.
window.addEventListener("DOMContentLoaded", () => {
  const csrf = () => {
    const found = document.cookie.split("; ").find((c) => c.startsWith("sb_csrf="));
    return found ? decodeURIComponent(found.slice("sb_csrf=".length)) : undefined;
  };
  window.SwaggerUIBundle({
    url: "/schema/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    requestInterceptor: (request) => {
      const token = csrf();
      if (token) request.headers["x-csrf-token"] = token;
      return request;
    },
  });
});
