// MathJax 2.7 configuration, read before MathJax.js loads (mkdocs.yml's
// extra_javascript). pymdownx.arithmatex in generic mode wraps each formula
// in <span class="arithmatex">\( ... \)</span> or a div with \[ ... \]; only
// those elements are typeset.
window.MathJax = {
  tex2jax: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
    ignoreClass: ".*|",
    processClass: "arithmatex"
  },
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
  showProcessingMessages: false,
  messageStyle: "none",
  menuSettings: {zoom: "None"}
};
