// Enhances the query textarea with CodeMirror's SPARQL highlighting; the form works without it.
(function () {
  var area = document.getElementById("query");
  if (!area) return;
  // A query too long for a URL (data-max-link) is POSTed: as a GET it would fail in a browser,
  // a proxy or the server's header cap. Its results page then offers downloads as buttons.
  var maxLink = parseInt(area.form.getAttribute("data-max-link"), 10);
  area.form.addEventListener("submit", function () {
    var form = area.form;
    if (editor) editor.save();  // CodeMirror's own submit listener comes later
    var length = form.action.length + 1 + new URLSearchParams(new FormData(form)).toString().length;
    form.method = maxLink && length > maxLink ? "post" : "get";
  });
  if (typeof CodeMirror === "undefined") return;
  var label = document.querySelector('label[for="query"]');
  var name = label ? label.textContent.replace(/\s+/g, " ").trim() : "Interrogazione / Query";
  function run() {
    editor.save();
    if (area.form.requestSubmit) area.form.requestSubmit(); else area.form.submit();
  }
  var editor = CodeMirror.fromTextArea(area, {
    mode: "application/sparql-query", lineNumbers: true, indentUnit: 2,
    screenReaderLabel: name,
    // Tab and Shift-Tab move the focus like everywhere else on the page (no keyboard trap);
    // Ctrl-] / Ctrl-[ (Cmd on a Mac) indent and outdent, from CodeMirror's default key map.
    extraKeys: { "Tab": false, "Shift-Tab": false, "Ctrl-Enter": run, "Cmd-Enter": run, "Ctrl-Space": complete }
  });
  // Ctrl-Space: the prefixes and the ontology's terms (psm:Action, "Azione") that match what is
  // typed before the cursor, by their text or their label.
  var words = [];
  var data = document.getElementById("sparql-words");
  try { words = data ? JSON.parse(data.textContent) : []; } catch (e) { words = []; }
  function complete(cm) {
    if (!cm.showHint) return;
    cm.showHint({ completeSingle: false, hint: function () {
      var cursor = cm.getCursor(), line = cm.getLine(cursor.line), start = cursor.ch;
      while (start > 0 && /[\w:\-]/.test(line.charAt(start - 1))) start--;
      var typed = line.slice(start, cursor.ch).toLowerCase();
      var list = words.filter(function (w) {
        return w[0].toLowerCase().indexOf(typed) === 0 || (typed.length > 1 && w[1].toLowerCase().indexOf(typed) >= 0);
      }).map(function (w) { return { text: w[0], displayText: w[0] + "  " + w[1] }; });
      return { list: list, from: CodeMirror.Pos(cursor.line, start), to: cursor };
    } });
  }
  var input = editor.getInputField();
  var keys = document.getElementById("query-keys");
  if (keys) {
    keys.hidden = false;
    input.setAttribute("aria-describedby", "query-keys");
  }
  // The curl command under "Uso da programma" follows the query in the editor, quoted for a POSIX
  // shell as the server quotes it (Python's shlex.quote); a button copies it.
  var curl = document.getElementById("query-curl");
  function quote(text) { return "'" + text.replace(/'/g, "'\"'\"'") + "'"; }
  function writeCurl() {
    curl.textContent = "curl -H 'Accept: text/csv' --data-urlencode " + quote("query=" + editor.getValue()) +
      " " + curl.getAttribute("data-endpoint");
  }
  if (curl) {
    editor.on("change", writeCurl);
    var copy = document.getElementById("copy-curl"), status = document.getElementById("copy-curl-status");
    if (copy && navigator.clipboard) {
      copy.parentNode.hidden = false;
      var say = function (it, en) {
        var english = document.createElement("span");
        english.lang = "en";
        english.textContent = " / " + en;
        status.textContent = it;
        status.appendChild(english);
      };
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(curl.textContent).then(function () {
          say("Copiato", "Copied");
        }, function () {
          say("Copia non riuscita: seleziona il testo", "Copy failed: select the text");
        });
      });
    }
  }
  // The visible label focuses the editor, as it focused the textarea it replaces.
  if (label) label.addEventListener("click", function (e) { e.preventDefault(); editor.focus(); });
})();
