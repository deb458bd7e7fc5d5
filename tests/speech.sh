#!/bin/sh
# speech.sh OUT — make the test speech: exactly 60 s of Vietnamese spoken by
# espeak-ng, as raw 16 kHz mono signed 16-bit little-endian PCM (the format
# the kiosk captures), 1,920,000 bytes.
#
# Synthetic speech, not a recording of anyone: the tests and benchmarks
# need realistic audio, never a real voice. The text is from the article
# the project started from (PRODUCT.md). Deterministic: no dither, so the
# same espeak-ng and sox give the same bytes.
#
# Callers cache OUT under $HOMTHU_BUILD/fixtures/ and run this only when it
# is missing. OUT appears atomically (written beside it, then renamed), so
# test binaries running side by side never read half a file.
set -eu
out=${1:?usage: speech.sh OUT.raw}
seconds=60

for tool in espeak-ng sox soxi; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "speech.sh: $tool is missing: run 'make deps' (Debian: espeak-ng sox)" >&2
        exit 1
    }
done

mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/homthu-speech-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/para.txt" <<'EOF'
Không cầu kỳ, không phức tạp. Tại các điểm công cộng như trạm y tế, trường học,
nhà văn hóa, các poster có gắn mã QR được dán kèm hướng dẫn ngắn gọn bằng tiếng
Việt và tiếng Mông. Người dân chỉ cần dùng điện thoại thông minh có Zalo hoặc
trình quét mã, truy cập vào biểu mẫu và gửi đi thông tin cần phản ánh. Ngay khi
gửi, thông tin được truyền trực tiếp về hòm thư điện tử của Đồn Biên phòng. Từ
đây, các cán bộ trực xử lý sẽ tiến hành xác minh, triển khai phương án tiếp cận
vụ việc nếu cần thiết. Tính đến tháng tư năm hai nghìn không trăm hai mươi lăm,
mô hình đã tiếp nhận gần năm mươi tin báo từ người dân.
EOF

# Repeat the paragraph until the speech lasts at least $seconds.
: >"$tmp/text.txt"
n=0
while :; do
    cat "$tmp/para.txt" >>"$tmp/text.txt"
    n=$((n + 1))
    espeak-ng -v vi -w "$tmp/speech.wav" -f "$tmp/text.txt"
    len=$(soxi -D "$tmp/speech.wav")
    if awk -v l="$len" -v s="$seconds" 'BEGIN { exit !(l >= s) }'; then break; fi
    if [ "$n" -ge 20 ]; then
        echo "speech.sh: espeak-ng made only ${len}s of speech from 20 paragraphs" >&2
        exit 1
    fi
done

# Peak at -3 dBFS (espeak-ng peaks at full scale and resampling would
# clip), 16 kHz mono s16le, cut (or padded with silence) to exactly $seconds.
sox -D -V1 "$tmp/speech.wav" -t raw -r 16000 -c 1 -b 16 -e signed-integer -L \
    "$tmp/speech.raw" gain -n -3 rate 16k pad 0 "$seconds" trim 0 "$seconds"

want=$((seconds * 16000 * 2))
got=$(wc -c <"$tmp/speech.raw")
if [ "$got" -ne "$want" ]; then
    echo "speech.sh: made $got bytes of PCM, expected $want" >&2
    exit 1
fi
mv "$tmp/speech.raw" "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
