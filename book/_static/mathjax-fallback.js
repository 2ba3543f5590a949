// MathJax is served from this site (_static/mathjax/tex-chtml.js), so the book's math typesets
// without a network connection, also from a saved copy of the HTML. Only on a page that asked for
// that copy and failed to get it (MathJax then never defines `MathJax.version`) is the same
// version fetched from a CDN.
(function () {
  "use strict";
  var CDN = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-chtml.js";
  window.addEventListener("load", function () {
    var local = document.querySelector('script[src*="mathjax/tex-chtml.js"]');
    if (!local || (window.MathJax && window.MathJax.version)) {
      return;
    }
    var script = document.createElement("script");
    script.src = CDN;
    script.async = true;
    script.id = "mathjax-cdn-fallback";
    document.head.appendChild(script);
  });
})();
