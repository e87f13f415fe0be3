// Enhances the query textarea with CodeMirror's SPARQL highlighting; the form works without it.
(function () {
  var area = document.getElementById("query");
  if (!area || typeof CodeMirror === "undefined") return;
  var editor = CodeMirror.fromTextArea(area, { mode: "application/sparql-query", lineNumbers: true, indentUnit: 2 });
  editor.setOption("extraKeys", { "Ctrl-Enter": function () { editor.save(); area.form.submit(); } });
})();
