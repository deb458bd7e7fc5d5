/*
 * envelope — the sealed tip, format v2; v1 still read (docs/envelope.md, byte by byte).
 *
 * A tip is written as a stream: a clear header, fixed-size encrypted chunks
 * (crypto_secretstream, the header bound as additional data), and a clear
 * trailer signed by the kiosk's device key. Plaintext lives only in one
 * chunk-sized locked buffer inside the writer; every finished chunk goes out
 * through the sink callback (the queue commits it at once).
 *
 * The reader is streaming too: feed it bytes in any slices, it hands back
 * records (metadata, text, audio) as each chunk authenticates, and says
 * precisely why it refuses an envelope. It never needs the whole envelope
 * in memory.
 *
 * Not here: storage (queue.h), audio encoding (capture.h), key files (keys.h).
 *
 * Errors: functions return 0 or a negative enum envelope_error; when an
 * `err` buffer is given it receives a sentence a person can act on.
 */
#ifndef HOMTHU_ENVELOPE_H
#define HOMTHU_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define ENVELOPE_VERSION 2 /* written; versions 1 and 2 are read */
#define ENVELOPE_TIP_ID_BYTES 16
#define ENVELOPE_KEY_ID_BYTES 8
#define ENVELOPE_HEADER_BYTES 176
#define ENVELOPE_TRAILER_BYTES 76
#define ENVELOPE_CHUNK_PLAIN 4096                      /* v1 fixed */
#define ENVELOPE_CHUNK_CIPHER (ENVELOPE_CHUNK_PLAIN + 17) /* + secretstream ABYTES */
#define ENVELOPE_MIN_CHUNKS 8   /* padding floor: short tips all look alike */
#define ENVELOPE_DEFAULT_MAX_BYTES (16u * 1024u * 1024u)

#define ENVELOPE_POST_PK_BYTES 32 /* X25519 */
#define ENVELOPE_POST_SK_BYTES 32
#define ENVELOPE_DEVICE_PK_BYTES 32 /* Ed25519 */
#define ENVELOPE_DEVICE_SK_BYTES 64

enum envelope_error {
    ENVELOPE_OK = 0,
    ENVELOPE_E_ARG = -1,          /* programmer error or bad parameter */
    ENVELOPE_E_NOMEM = -2,
    ENVELOPE_E_SINK = -3,         /* the sink (storage) refused a piece */
    ENVELOPE_E_MAGIC = -10,       /* not an envelope at all */
    ENVELOPE_E_VERSION = -11,     /* unknown format version */
    ENVELOPE_E_KEY_ID = -12,      /* sealed to a post key we do not hold */
    ENVELOPE_E_WRONG_KEY = -13,   /* key id matches but the key cannot open it */
    ENVELOPE_E_TAMPERED = -14,    /* a chunk or the header fails authentication */
    ENVELOPE_E_REORDERED = -15,   /* chunks out of order */
    ENVELOPE_E_DUPLICATED = -16,  /* a chunk repeated */
    ENVELOPE_E_TRUNCATED = -17,   /* ends early with no device-signed cut marker */
    ENVELOPE_E_CUT_SHORT = -18,   /* ends early, kiosk-signed: power loss while recording */
    ENVELOPE_E_SIGNATURE = -19,   /* a device signature does not verify */
    ENVELOPE_E_UNKNOWN_DEVICE = -20,
    ENVELOPE_E_REVOKED_DEVICE = -21,
    ENVELOPE_E_TRAILING = -22,    /* bytes after the trailer */
    ENVELOPE_E_OVERSIZE = -23,
    ENVELOPE_E_RECORD = -24,      /* malformed records inside an authentic stream */
    ENVELOPE_E_STATE = -25,       /* call in the wrong order */
};

/* Short fixed English name of an error code, for logs and tests. */
const char *envelope_strerror(int code);

enum envelope_category {
    CATEGORY_UNSET = 0,
    CATEGORY_BORDER = 1,      /* strangers, illegal border crossing */
    CATEGORY_DRUGS = 2,
    CATEGORY_WEAPONS = 3,     /* weapons or explosives */
    CATEGORY_SMUGGLING = 4,
    CATEGORY_THEFT = 5,
    CATEGORY_TRAFFICKING = 6, /* people trafficking */
    CATEGORY_OTHER = 7,
};

enum envelope_codec { CODEC_NONE = 0, CODEC_OGG_OPUS = 1 };

enum envelope_when {
    WHEN_UNSET = 0, WHEN_TODAY = 1, WHEN_YESTERDAY = 2, WHEN_THIS_WEEK = 3, WHEN_EARLIER = 4,
};

/* The metadata record. Nothing here identifies the person. */
struct envelope_meta {
    char language[9];    /* BCP 47-ish tag, NUL-terminated: "vi", "hmn" */
    uint8_t category;    /* enum envelope_category */
    uint16_t capture_day; /* days since 2020-01-01 UTC; 0 = clock not trusted */
    uint8_t training;    /* 1 = practice tip, the post discards it */
    uint8_t codec;       /* enum envelope_codec of the audio records */
    uint8_t when;        /* enum envelope_when, if known at the start; the kiosk asks
                            after the recording and writes a WHEN record instead */
};

/* Record types inside the encrypted stream (docs/envelope.md). */
enum envelope_record {
    RECORD_META = 1, RECORD_TEXT = 2, RECORD_AUDIO = 3, RECORD_PAD = 4, RECORD_SIG = 5,
    RECORD_WHEN = 6,
    RECORD_UNCONFIRMED = 7, /* empty: the person spoke and left without "done" */
    RECORD_CATEGORY = 8,    /* 1 byte: what happened, chosen after speaking; overrides META's */
};

/* ---- writer ---- */

enum envelope_piece { PIECE_HEADER, PIECE_CHUNK, PIECE_TRAILER };

/*
 * Where finished pieces go. `index` counts chunks from 0 (0 for the header
 * and trailer). Return 0 to accept; non-zero aborts the writer with
 * ENVELOPE_E_SINK. The bytes are borrowed for the call only.
 */
typedef int (*envelope_sink_fn)(void *ctx, enum envelope_piece kind, uint32_t index,
                                const uint8_t *bytes, size_t len);

struct envelope_writer;

/*
 * Start a tip sealed to `post_pk` (its key id is derived from it) and
 * signed by the device key pair. Emits the header through the sink before
 * returning. `tip_id_out` (may be NULL) receives the random tip id.
 * On success the caller frees with envelope_writer_free().
 */
int envelope_writer_new(struct envelope_writer **out, const uint8_t post_pk[32],
                        const uint8_t device_sk[64], const struct envelope_meta *meta,
                        envelope_sink_fn sink, void *sink_ctx,
                        uint8_t tip_id_out[ENVELOPE_TIP_ID_BYTES], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Tests only: as envelope_writer_new, writing format `version` (1 or 2), so
 * that tests can make the old format and show it is still read. Product
 * code always writes ENVELOPE_VERSION.
 */
int envelope_writer_new_version_for_tests(struct envelope_writer **out,
                                          const uint8_t post_pk[32],
                                          const uint8_t device_sk[64],
                                          const struct envelope_meta *meta,
                                          envelope_sink_fn sink, void *sink_ctx,
                                          uint8_t tip_id_out[ENVELOPE_TIP_ID_BYTES],
                                          uint8_t version, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Append a text or audio record; may emit chunks through the sink. */
int envelope_write_text(struct envelope_writer *w, const char *utf8, size_t len)
    __attribute__((warn_unused_result));
int envelope_write_audio(struct envelope_writer *w, const uint8_t *ogg, size_t len)
    __attribute__((warn_unused_result));

/* Record when it happened (enum envelope_when), once, after the fact. */
int envelope_write_when(struct envelope_writer *w, uint8_t when)
    __attribute__((warn_unused_result));

/* Mark the tip "left without confirming" (an empty UNCONFIRMED record):
   the person spoke, then walked away or hung up before touching "done". */
int envelope_write_unconfirmed(struct envelope_writer *w) __attribute__((warn_unused_result));

/*
 * What happened (enum envelope_category, not CATEGORY_UNSET), as the person
 * chose it after speaking: a CATEGORY record the reader applies over META's
 * byte. Once per tip, after the last text and audio: later text or audio
 * gets ENVELOPE_E_STATE (a reader would refuse it), as does a second call.
 */
int envelope_write_category(struct envelope_writer *w, uint8_t category)
    __attribute__((warn_unused_result));

/*
 * Pad to the size bucket, append the inner signature, emit the final chunk
 * and the signed trailer. After this the writer only accepts _free().
 */
int envelope_writer_finish(struct envelope_writer *w, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Bytes emitted through the sink so far (header + chunks + trailer). */
uint64_t envelope_writer_bytes(const struct envelope_writer *w);

/* Zeroes every buffer and key; NULL is a no-op. Unfinished tips stay unfinished. */
void envelope_writer_free(struct envelope_writer *w);

/*
 * The pieces of a finished envelope of `length` bytes, as it travels: the
 * header, each chunk, the trailer. A piece is what a relay can check whole
 * (docs/relay-protocol.md, Homthu-Pieces). envelope_piece_end: where the
 * piece holding byte `pos` (< length) ends. envelope_piece_edge: whether a
 * piece begins (or the envelope ends) at `pos`. `length` is a valid size
 * (header + n chunks + trailer).
 */
uint64_t envelope_piece_end(uint64_t pos, uint64_t length);
int envelope_piece_edge(uint64_t pos, uint64_t length);

/*
 * Seal a tip whose writer died (power cut, crash) with a "cut short"
 * trailer signed by the device: the post then knows the kiosk itself ended
 * it early, which it cannot tell from an attack otherwise. `get_chunk`
 * returns chunk i (ENVELOPE_CHUNK_CIPHER bytes, borrowed) or NULL past the
 * end. Writes ENVELOPE_TRAILER_BYTES into trailer_out.
 */
typedef const uint8_t *(*envelope_chunk_fn)(void *ctx, uint32_t index);
int envelope_trailer_cut_short(const uint8_t header[ENVELOPE_HEADER_BYTES],
                               uint32_t chunk_count, envelope_chunk_fn get_chunk, void *ctx,
                               const uint8_t device_sk[64],
                               uint8_t trailer_out[ENVELOPE_TRAILER_BYTES])
    __attribute__((warn_unused_result));

/* ---- reader ---- */

/* Facts from the clear header, readable by anyone (the relay too). */
struct envelope_header_info {
    uint8_t version;
    uint8_t tip_id[ENVELOPE_TIP_ID_BYTES];
    uint8_t post_key_id[ENVELOPE_KEY_ID_BYTES];
    uint8_t device_pk[ENVELOPE_DEVICE_PK_BYTES];
    uint32_t chunk_plain;
};

/* Parse and check the clear header (magic, version, sizes). */
int envelope_parse_header(const uint8_t *bytes, size_t len, struct envelope_header_info *out,
                          char *err, size_t errlen) __attribute__((warn_unused_result));

/* Key id of a post public key: the first 8 bytes of BLAKE2b-256(pk). */
void envelope_post_key_id(const uint8_t post_pk[32], uint8_t id_out[ENVELOPE_KEY_ID_BYTES]);

/*
 * Is this device enrolled? Return 0 (yes), ENVELOPE_E_UNKNOWN_DEVICE or
 * ENVELOPE_E_REVOKED_DEVICE. With no callback every device is accepted
 * and only the signatures are checked.
 */
typedef int (*envelope_device_fn)(void *ctx, const uint8_t device_pk[32]);

/* Called for each record as it authenticates; data borrowed for the call. */
struct envelope_record_cb {
    void (*meta)(void *ctx, const struct envelope_meta *meta);
    void (*text)(void *ctx, const uint8_t *utf8, size_t len);
    void (*audio)(void *ctx, const uint8_t *ogg, size_t len);
    void (*when)(void *ctx, uint8_t when); /* from a WHEN record */
    void *ctx;
    void (*unconfirmed)(void *ctx); /* from an UNCONFIRMED record; may be NULL */
    /* From a CATEGORY record: the final category, to apply over meta's
       (which was written when recording began). May be NULL. */
    void (*category)(void *ctx, uint8_t category);
};

/* One post key pair the reader may use; several allow key rotation. */
struct envelope_post_key {
    uint8_t pk[ENVELOPE_POST_PK_BYTES];
    uint8_t sk[ENVELOPE_POST_SK_BYTES];
};

struct envelope_reader_opts {
    const struct envelope_post_key *keys; /* NULL: structure + signatures only */
    size_t nkeys;
    envelope_device_fn device_check;
    void *device_ctx;
    uint64_t max_bytes; /* 0 = ENVELOPE_DEFAULT_MAX_BYTES */
    struct envelope_record_cb records;
};

struct envelope_reader;

int envelope_reader_new(struct envelope_reader **out, const struct envelope_reader_opts *opts)
    __attribute__((warn_unused_result));

/*
 * Feed the next bytes. Returns 0 to go on, or the error that ends the
 * read. Records that authenticated before an error have been delivered.
 */
int envelope_reader_feed(struct envelope_reader *r, const uint8_t *bytes, size_t len,
                         char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * The input has ended. Returns 0 for a complete, authentic, signed tip;
 * ENVELOPE_E_CUT_SHORT for a tip the kiosk sealed after a power loss
 * (the records before the cut were delivered and are genuine); any other
 * error otherwise.
 */
int envelope_reader_finish(struct envelope_reader *r, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* After the header was fed: its facts, or NULL before. Borrowed. */
const struct envelope_header_info *envelope_reader_header(const struct envelope_reader *r);

/* Zeroes keys and buffers; NULL is a no-op. */
void envelope_reader_free(struct envelope_reader *r);

/*
 * Without any post key (the relay): check structure, trailer, chunk count
 * and the device's outer signature over the whole envelope in memory.
 */
int envelope_verify_outer(const uint8_t *bytes, size_t len, envelope_device_fn device_check,
                          void *device_ctx, uint64_t max_bytes, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Parse a decrypted record stream (for the fuzzer and the reader itself):
 * a stream of whole records, `header` for the inner signature. Exposed so
 * the record parser can be fuzzed without forging AEAD.
 */
int envelope_parse_records(const uint8_t *plain, size_t len, const uint8_t *header,
                           const struct envelope_record_cb *cb, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
