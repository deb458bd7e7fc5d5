#!/bin/sh
# The catalogs and the screens agree: every word the UI asks a catalog for
# (tr(), tr_in() and the picture tables) is in every catalog, and no
# catalog keeps words the UI no longer shows (they would go untranslated
# and unreviewed the day they came back).
set -u
cd "${HOMTHU_ROOT:-.}"
python3 - <<'PY'
import glob, re
def code_only(text):
    """The C text with comments blanked and character literals made 0, so
    an apostrophe or a quote inside either cannot pair string quotes."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1] if c == '"' else "0")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)

src = "".join(code_only(open(f, encoding="utf-8").read()) for f in sorted(glob.glob("src/kiosk/*.[ch]")))
src = re.sub(r'"\s*\n\s*"', "", src)  # adjacent literals are one string
lit = r'"((?:[^"\\]|\\.)*)"'
# The literal right after the ui argument of the translating calls, and
# both arms of a ?: there; the picture tables' first field.
used = set(re.findall(r'\b(?:tr|V|set_msg|ui_set_message)\(\s*ui\s*,\s*' + lit, src))
used |= {a for pair in re.findall(r'\b(?:tr|V|set_msg)\(\s*ui\s*,[^,"()]*\?\s*' + lit + r'\s*:\s*' + lit, src) for a in pair}
used |= set(re.findall(r'\btr_in\(\s*\w+\s*,[^,()]*(?:\([^()]*\))?[^,()]*,\s*' + lit, src))
used |= set(re.findall(r'\{\s*' + lit + r'\s*,\s*"[a-z_0-9]+"\s*,\s*PICTO_', src))
literals = set(re.findall(lit, src))
bad = 0
for po in sorted(glob.glob("assets/lang/*/messages.po")):
    ids = {m for m in re.findall(r'^msgid "(.*)"$', open(po, encoding="utf-8").read(), re.M) if m}
    missing = sorted(used - ids)
    stale = sorted(i for i in ids if i not in literals)
    for m in missing:
        print(f"    {po}: the UI asks for \"{m}\", the catalog lacks it")
    for s in stale:
        print(f"    {po}: \"{s}\" is in the catalog, no screen shows it")
    bad += len(missing) + len(stale)
print(f"    {len(used)} words the UI asks for")
print("PASS catalogs_hold_every_word_the_ui_shows_and_no_other" if bad == 0 and len(used) > 100
      else "FAIL catalogs_hold_every_word_the_ui_shows_and_no_other")
PY
