#!/bin/sh
# make-prompts.sh [ASSETS_DIR] — make the machine-spoken prompts again.
#
# Reads ASSETS_DIR/prompts/manifest.tsv (default: assets) and, for every
# line whose status is `espeak`, speaks its words with espeak-ng, slowly
# (130 words a minute: many listeners are elderly), and writes
# ASSETS_DIR/prompts/<lang>/<id>.opus: 16 kHz mono, Opus 24 kbps, 60 ms
# frames. Also makes the few stand-ins listed below for `placeholder` lines.
#
# Never touches a `recorded` line, nor any file tagged HOMTHU_PROMPT=recorded
# (what the kiosk writes when a volunteer records a prompt: if the kiosk
# lost power before marking the manifest, the tag still protects the voice).
#
# The output is reproducible (fixed Ogg serial per prompt, no dither), so
# running it again with the same words changes no file. See docs/prompts.md.
set -eu
assets=${1:-assets}
manifest=$assets/prompts/manifest.tsv
tab=$(printf '\t')

for tool in espeak-ng sox opusenc opusinfo cksum; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "make-prompts.sh: $tool is missing: run 'make deps' (Debian: espeak-ng sox opus-tools)" >&2
        exit 1
    }
done
[ -f "$manifest" ] || { echo "make-prompts.sh: $manifest not found" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/homthu-prompts-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The espeak-ng voice for a language; empty when espeak-ng has none.
voice_for() {
    case $1 in
    vi) echo vi ;;
    *) echo "" ;;
    esac
}

# Stand-ins for `placeholder` lines, until a person records them:
# lang, id, espeak-ng voice, text as that voice should read it.
# "Lus Hmoob" (the Hmong name of the language) respelled for the
# Vietnamese voice; Vietnamese speakers call the Hmong "Mông".
standins() {
    printf 'hmn\tlanguage_name\tvi\tLù Mông\n'
}

is_recorded_file() {
    [ -f "$1" ] && opusinfo "$1" 2>/dev/null | grep -q 'HOMTHU_PROMPT=recorded'
}

# speak LANG ID VOICE TEXT TAG
speak() {
    lang=$1 id=$2 voice=$3 text=$4 tag=$5
    dir=$assets/prompts/$lang
    out=$dir/$id.opus
    if is_recorded_file "$out"; then
        echo "make-prompts.sh: $out holds a person's recording (HOMTHU_PROMPT=recorded):" \
            "kept; mark its manifest line 'recorded'" >&2
        return 0
    fi
    mkdir -p "$dir"
    printf '%s\n' "$text" >"$tmp/text.txt"
    espeak-ng -v "$voice" -s 130 -w "$tmp/speech.wav" -f "$tmp/text.txt"
    # Peak at -3 dBFS, 16 kHz mono; a little silence either side so no
    # device start-up or cut swallows the first or last syllable.
    sox -D -V1 "$tmp/speech.wav" -r 16000 -c 1 -b 16 "$tmp/speech16k.wav" \
        gain -n -3 rate 16k pad 0.1 0.2
    # A serial from the name keeps the bytes the same from run to run.
    serial=$(printf '%s/%s' "$lang" "$id" | cksum | cut -d' ' -f1)
    opusenc --quiet --bitrate 24 --framesize 60 --serial "$serial" \
        --comment "HOMTHU_PROMPT=$tag" "$tmp/speech16k.wav" "$tmp/out.opus"
    mv "$tmp/out.opus" "$out.tmp.$$"
    mv "$out.tmp.$$" "$out"
    echo "$out ($(wc -c <"$out") bytes)"
}

made=0 line=0
while IFS= read -r row || [ -n "$row" ]; do
    line=$((line + 1))
    row=${row%"$(printf '\r')"}
    case $row in '' | '#'*) continue ;; esac
    IFS=$tab read -r lang id status words <<EOF
$row
EOF
    [ "$status" = espeak ] || continue
    voice=$(voice_for "$lang")
    if [ -z "$voice" ]; then
        echo "make-prompts.sh: $manifest:$line: espeak-ng has no voice for '$lang':" \
            "mark the line 'placeholder' and have it recorded" >&2
        exit 1
    fi
    speak "$lang" "$id" "$voice" "$words" espeak
    made=$((made + 1))
done <"$manifest"

standins >"$tmp/standins.tsv"
while IFS=$tab read -r lang id voice text; do
    status=$(awk -F'\t' -v l="$lang" -v i="$id" '$1 == l && $2 == i { print $3 }' "$manifest")
    [ "$status" = placeholder ] || continue
    speak "$lang" "$id" "$voice" "$text" placeholder
    made=$((made + 1))
done <"$tmp/standins.tsv"

echo "make-prompts.sh: made $made prompt(s)"
