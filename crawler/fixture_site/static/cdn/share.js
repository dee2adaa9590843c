/* share.js: opens share dialogs; fixture copy, does nothing on load. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".share-bar a");
    if (!link) { return; }
    event.preventDefault();
    window.open(link.href, "share", "width=600,height=400");
  });
})();
