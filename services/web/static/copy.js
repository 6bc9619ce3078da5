// The promoter app's one script: a copy button beside each share link. Without it the
// link's field can still be selected and copied by hand.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button.copy");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  var done = function () { button.textContent = "已复制"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { fallback(button, text, done); });
  } else {
    fallback(button, text, done);
  }
});

function fallback(button, text, done) {
  var field = button.parentNode.querySelector("input.url");
  if (!field) return;
  field.select();
  try { if (document.execCommand("copy")) done(); } catch (e) { /* selected for the user to copy */ }
}
