/* app.js: site menu toggle; fixture copy shared by the five outlets. */
(function () {
  "use strict";
  var toggle = document.querySelector("[data-menu-toggle]");
  if (!toggle) { return; }
  toggle.addEventListener("click", function () {
    document.body.classList.toggle("menu-open");
  });
})();
