// The site's script: marks the page as ready once the document has loaded.
document.addEventListener("DOMContentLoaded", () => {
  for (const element of document.querySelectorAll("[data-ready]")) {
    element.setAttribute("data-ready", "yes");
  }
  document.documentElement.classList.add("js");
  console.info("app.js: the page is ready; every asset came from the edge or the origin.");
});
