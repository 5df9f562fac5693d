// MathJax 2 (copied into site/assets/mathjax by the build, from the jupyter-server-mathjax package) typesets
// arithmatex's \( \) and \[ \] spans with its STIX web fonts; nothing is fetched from the network.
window.MathJax = {
  config: ["TeX-AMS-MML_HTMLorMML-full.js"],
  tex2jax: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
    ignoreClass: ".*",
    processClass: "arithmatex"
  },
  "HTML-CSS": { availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null },
  messageStyle: "none",
  showMathMenu: false
};
