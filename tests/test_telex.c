/* Tests for telex.h: Vietnamese Telex, Hmong RPA pass-through, the cap, wiping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kiosk/telex.h"

/* The text after typing `keys` on a fresh keyboard (static buffer). */
static const char *typed(enum telex_mode mode, const char *keys)
{
    static char out[1024];
    struct telex *t;
    ASSERT_EQ(telex_new(&t, mode, TELEX_DEFAULT_CAP), TELEX_OK);
    for (const char *k = keys; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    snprintf(out, sizeof out, "%s", telex_text(t));
    ASSERT_EQ(telex_len(t), strlen(out));
    telex_free(t);
    return out;
}

static const struct {
    const char *keys, *text;
} words[] = {
    /* Words the brief names. */
    {"vieetj", "việt"},
    {"nguwowif", "người"},
    {"nguoiwf", "người"},
    {"ddawngf", "đằng"},
    {"thuyeenf", "thuyền"},
    {"quaf", "quà"},
    {"giaf", "già"},
    {"hoir", "hỏi"},
    {"ngax", "ngã"},
    {"maj", "mạ"},
    {"tooi", "tôi"},
    {"muwa", "mưa"},
    {"khoong", "không"},
    {"bieens", "biến"},
    {"phongf", "phòng"},
    {"truwowngf", "trường"},
    /* Every tone on every vowel: a ă â e ê i o ô ơ u ư y × s f r x j. */
    {"las", "lá"},
    {"laf", "là"},
    {"lar", "lả"},
    {"lax", "lã"},
    {"laj", "lạ"},
    {"mawts", "mắt"},
    {"bawngf", "bằng"},
    {"hawnr", "hẳn"},
    {"nawngx", "nẵng"},
    {"mawtj", "mặt"},
    {"caaps", "cấp"},
    {"caanf", "cần"},
    {"baanr", "bẩn"},
    {"laanx", "lẫn"},
    {"caanj", "cận"},
    {"ves", "vé"},
    {"mef", "mè"},
    {"ber", "bẻ"},
    {"vex", "vẽ"},
    {"mej", "mẹ"},
    {"ddeems", "đếm"},
    {"leef", "lề"},
    {"ddeer", "để"},
    {"leex", "lễ"},
    {"leej", "lệ"},
    {"ichs", "ích"},
    {"gif", "gì"},
    {"nhir", "nhỉ"},
    {"mix", "mĩ"},
    {"chij", "chị"},
    {"cos", "có"},
    {"cof", "cò"},
    {"cor", "cỏ"},
    {"vox", "võ"},
    {"hoj", "họ"},
    {"toos", "tố"},
    {"hoof", "hồ"},
    {"toor", "tổ"},
    {"ddoox", "đỗ"},
    {"booj", "bộ"},
    {"lowns", "lớn"},
    {"mowf", "mờ"},
    {"owr", "ở"},
    {"gowx", "gỡ"},
    {"chowj", "chợ"},
    {"tus", "tú"},
    {"muf", "mù"},
    {"thur", "thủ"},
    {"vux", "vũ"},
    {"nguj", "ngụ"},
    {"muwts", "mứt"},
    {"tuwf", "từ"},
    {"suwr", "sử"},
    {"nhuwngx", "những"},
    {"luwcj", "lực"},
    {"kys", "ký"},
    {"kyf", "kỳ"},
    {"tyr", "tỷ"},
    {"myx", "mỹ"},
    {"lyj", "lỵ"},
    /* Where the tone goes (the 2018 rule: main vowel, "hoà" not "hòa"). */
    {"hoaf", "hoà"},
    {"khoer", "khoẻ"},
    {"thuys", "thuý"},
    {"hoanf", "hoàn"},
    {"toans", "toán"},
    {"huynhf", "huỳnh"},
    {"ngoaif", "ngoài"},
    {"xoays", "xoáy"},
    {"khuyur", "khuỷu"},
    {"muaf", "mùa"},
    {"mias", "mía"},
    {"tuis", "túi"},
    {"ruowuj", "rượu"},
    {"cuwus", "cứu"},
    {"nuwowcs", "nước"},
    {"dduwowngf", "đường"},
    {"khuyeen", "khuyên"},
    {"quyeets", "quyết"},
    {"quys", "quý"},
    {"gieengs", "giếng"},
    {"giuwx", "giữ"},
    {"giuwax", "giữa"},
    {"nghieeng", "nghiêng"},
    {"xoawn", "xoăn"},
    {"quawts", "quắt"},
    {"thaays", "thấy"},
    /* Marks and tones in any order; the mark follows the letters. */
    {"vietj", "viẹt"},
    {"vietje", "việt"},
    {"vietej", "việt"},
    {"hoafn", "hoàn"},
    {"gifa", "già"},
    {"did", "đi"},
    {"ddi", "đi"},
    {"nguowif", "người"},
    {"tuwowi", "tươi"},
    /* Common words of a tip, the tone typed in different places. */
    {"tieengs", "tiếng"},
    {"tieesng", "tiếng"},
    {"vieejt", "việt"},
    {"nuwowsc", "nước"},
    {"dduowcj", "được"},
    {"muoons", "muốn"},
    {"cungx", "cũng"},
    {"ddaau", "đâu"},
    {"ddeem", "đêm"},
    {"hoom", "hôm"},
    {"quas", "quá"},
    {"hoas", "hoá"},
    {"tuaanf", "tuần"},
    {"truwowcs", "trước"},
    {"DDieenj", "Điện"},
    {"chuyeenj", "chuyện"},
    {"gieengs", "giếng"},
    {"nhieeuf", "nhiều"},
    {"laauj", "lậu"},
    {"sungs", "súng"},
    {"tets", "tét"},
    {"cacs", "các"},
    {"khoong bieets", "không biết"},
    {"buoon lauaj", "buôn lậu"},
    {"ma tuys", "ma tuý"},
    {"Giangf A Pao", "Giàng A Pao"},
    {"Laauf", "Lầu"},
    {"Toois qua cos 2 nguwowif laj mang hangf qua bieen giowis",
     "Tối qua có 2 người lạ mang hàng qua biên giới"},
    {"Nhaf tooi owr thoon Lao Chair", "Nhà tôi ở thôn Lao Chải"},
    /* ươ with nothing after it is written uơ. */
    {"thuowr", "thuở"},
    {"thuwowr", "thuở"},
    {"huow", "huơ"},
    /* w with no vowel before it is ư. */
    {"w", "ư"},
    {"W", "Ư"},
    {"wf", "ừ"},
    {"wa", "ưa"},
    {"wngs", "ứng"},
    {"nhw", "như"},
    {"tw", "tư"},
};

TEST(test_telex_types_every_tone_on_every_vowel)
{
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        const char *got = typed(TELEX_VI, words[i].keys);
        if (strcmp(got, words[i].text) != 0)
            check_fail(__FILE__, __LINE__, "\"%s\" gave \"%s\", not \"%s\"", words[i].keys, got,
                       words[i].text);
    }
}

TEST(test_telex_words_that_cannot_be_vietnamese_keep_every_key)
{
    /* Each of these makes letters with marks on the way, then turns out not
       to be Vietnamese: the word comes back exactly as typed. */
    static const char *const foreign[] = {
        "taxi", "test",     "email",  "samsung", "Samsung", "google", "water",   "web",
        "wifi", "wow",      "visa",   "user",    "post",    "cost",   "text",    "next",
        "mask", "heroin",   "casino", "iphone",  "honda",   "Wave",   "Exciter", "Viettel",
        "Grab", "facebook", "zalo",   "youtube", "xiaomi",  "tiktok", "toyota",  "Sirius",
    };
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        const char *got = typed(TELEX_VI, foreign[i]);
        if (strcmp(got, foreign[i]) != 0)
            check_fail(__FILE__, __LINE__, "\"%s\" gave \"%s\"", foreign[i], got);
    }
    /* The marks show while the word may still be Vietnamese, and go when
       the next key says it is not. */
    ASSERT_STR_EQ(typed(TELEX_VI, "tax"), "tã");
    ASSERT_STR_EQ(typed(TELEX_VI, "tes"), "té");
    ASSERT_STR_EQ(typed(TELEX_VI, "sams"), "sám");
    ASSERT_STR_EQ(typed(TELEX_VI, "goo"), "gô");
    /* In a sentence, only the foreign word is given back. */
    ASSERT_STR_EQ(typed(TELEX_VI, "Ddi taxi veef nhaf, email cho tooi"),
                  "Đi taxi về nhà, email cho tôi");
    /* The same letters typed the Vietnamese way stay Vietnamese: the tone
       after the vowels, hats and horns typed on purpose. */
    ASSERT_STR_EQ(typed(TELEX_VI, "tais"), "tái");
    ASSERT_STR_EQ(typed(TELEX_VI, "tets"), "tét");
    ASSERT_STR_EQ(typed(TELEX_VI, "nuwowsc"), "nước");
    ASSERT_STR_EQ(typed(TELEX_VI, "nguwowfi"), "người");
    /* Words that make a possible syllable cannot be told apart: they stay
       Vietnamese (documented in docs/languages.md). */
    ASSERT_STR_EQ(typed(TELEX_VI, "mix"), "mĩ");
}

TEST(test_telex_digits_and_signs_of_plates_and_phone_numbers)
{
    ASSERT_STR_EQ(typed(TELEX_VI, "29A-123.45"), "29A-123.45");
    ASSERT_STR_EQ(typed(TELEX_VI, "0912 345 678"), "0912 345 678");
    ASSERT_STR_EQ(typed(TELEX_VI, "24/12"), "24/12");
    /* Letters glued to digits are a plate or a code, never a word: "29as"
       is not "29á", "30ex" not "30ẽ". */
    ASSERT_STR_EQ(typed(TELEX_VI, "29as-12345"), "29as-12345");
    ASSERT_STR_EQ(typed(TELEX_VI, "30ex"), "30ex");
    ASSERT_STR_EQ(typed(TELEX_VI, "ten@gmail.com"), "ten@gmail.com");
    ASSERT_STR_EQ(typed(TELEX_VI, "Xe bieern 29A-123.45, goij 0912 345 678"),
                  "Xe biển 29A-123.45, gọi 0912 345 678");
}

TEST(test_telex_backspace_in_a_word_given_back_as_typed)
{
    struct telex *t;
    ASSERT_EQ(telex_new(&t, TELEX_VI, 64), TELEX_OK);
    for (const char *k = "taxi"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_EQ(telex_backspace(t), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "tax"); /* the letters, not "tã" */
    ASSERT_EQ(telex_key(t, 'i'), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "taxi");
    telex_clear(t);
    for (const char *k = "samsung"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(telex_backspace(t), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "sams");
    for (const char *k = "ung"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "samsung");
    /* Back into "thuở": the uơ survives, the tone can change. */
    telex_clear(t);
    for (const char *k = "thuowr"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_EQ(telex_backspace(t), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "thu");
    for (const char *k = "owx"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "thuỡ");
    /* A cleared text keeps nothing of the last word's keys. */
    telex_clear(t);
    for (const char *k = "ta"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    telex_clear(t);
    ASSERT_EQ(telex_key(t, 's'), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "s");
    telex_free(t);
}

TEST(test_telex_w_again_gives_the_w_back)
{
    ASSERT_STR_EQ(typed(TELEX_VI, "ww"), "w");
    ASSERT_STR_EQ(typed(TELEX_VI, "www"), "ww");
    ASSERT_STR_EQ(typed(TELEX_VI, "nhww"), "nhw");
    ASSERT_STR_EQ(typed(TELEX_VI, "vieetjj"), "viêtj"); /* a tone twice: the letter */
}

TEST(test_telex_z_removes_the_tone)
{
    ASSERT_STR_EQ(typed(TELEX_VI, "asz"), "a");
    ASSERT_STR_EQ(typed(TELEX_VI, "vieetjz"), "viêt");
    ASSERT_STR_EQ(typed(TELEX_VI, "nguwowifz"), "ngươi");
    ASSERT_STR_EQ(typed(TELEX_VI, "az"), "az"); /* nothing to remove: a plain z */
}

TEST(test_telex_another_tone_key_changes_the_tone)
{
    ASSERT_STR_EQ(typed(TELEX_VI, "asf"), "à");
    ASSERT_STR_EQ(typed(TELEX_VI, "hoirx"), "hõi");
    ASSERT_STR_EQ(typed(TELEX_VI, "vieetsj"), "việt");
}

TEST(test_telex_a_key_pressed_again_undoes_and_types_the_letter)
{
    ASSERT_STR_EQ(typed(TELEX_VI, "ass"), "as");
    ASSERT_STR_EQ(typed(TELEX_VI, "asss"), "ass"); /* then the letter stays plain */
    ASSERT_STR_EQ(typed(TELEX_VI, "aaa"), "aa");
    ASSERT_STR_EQ(typed(TELEX_VI, "eee"), "ee");
    ASSERT_STR_EQ(typed(TELEX_VI, "xooong"), "xoong");
    ASSERT_STR_EQ(typed(TELEX_VI, "ddd"), "dd");
    ASSERT_STR_EQ(typed(TELEX_VI, "aww"), "aw");
    ASSERT_STR_EQ(typed(TELEX_VI, "uww"), "uw");
    ASSERT_STR_EQ(typed(TELEX_VI, "uoww"), "uow");
    ASSERT_STR_EQ(typed(TELEX_VI, "baff"), "baf");
    /* The next word starts afresh. */
    ASSERT_STR_EQ(typed(TELEX_VI, "ass as"), "as á");
}

TEST(test_telex_leaves_words_that_are_not_vietnamese_alone)
{
    ASSERT_STR_EQ(typed(TELEX_VI, "class"), "class");
    ASSERT_STR_EQ(typed(TELEX_VI, "ok"), "ok");
    ASSERT_STR_EQ(typed(TELEX_VI, "Zalo"), "Zalo");
    ASSERT_STR_EQ(typed(TELEX_VI, "wow"), "wow");
    /* c, ch, p, t take only sắc and nặng: "cacf" has no huyền. */
    ASSERT_STR_EQ(typed(TELEX_VI, "cacf"), "cacf");
    ASSERT_STR_EQ(typed(TELEX_VI, "cacs"), "các");
}

TEST(test_telex_capitals_keep_their_case)
{
    ASSERT_STR_EQ(typed(TELEX_VI, "DD"), "Đ");
    ASSERT_STR_EQ(typed(TELEX_VI, "Dd"), "Đ");
    ASSERT_STR_EQ(typed(TELEX_VI, "dD"), "đ");
    ASSERT_STR_EQ(typed(TELEX_VI, "Aa"), "Â");
    ASSERT_STR_EQ(typed(TELEX_VI, "AA"), "Â");
    ASSERT_STR_EQ(typed(TELEX_VI, "AS"), "Á");
    ASSERT_STR_EQ(typed(TELEX_VI, "ASS"), "AS");
    ASSERT_STR_EQ(typed(TELEX_VI, "VIEETJ"), "VIỆT");
    ASSERT_STR_EQ(typed(TELEX_VI, "NGUWOWIF"), "NGƯỜI");
    ASSERT_STR_EQ(typed(TELEX_VI, "DDoongf"), "Đồng");
    ASSERT_STR_EQ(typed(TELEX_VI, "Vieetj Nam"), "Việt Nam");
    ASSERT_STR_EQ(typed(TELEX_VI, "UW"), "Ư");
}

TEST(test_telex_types_a_sentence_with_spaces_and_punctuation)
{
    ASSERT_STR_EQ(typed(TELEX_VI, "Hoom nay, tooi thaays 2 nguwowif laj vaof banr!"),
                  "Hôm nay, tôi thấy 2 người lạ vào bản!");
    ASSERT_STR_EQ(typed(TELEX_VI, "Xin chaof.\nCarm own (ddoonf bieen phongf)?"),
                  "Xin chào.\nCảm ơn (đồn biên phòng)?");
    /* A word ends at punctuation: "a.s" is not "á". */
    ASSERT_STR_EQ(typed(TELEX_VI, "a.s"), "a.s");
}

TEST(test_telex_backspace_removes_one_character_of_the_composed_text)
{
    struct telex *t;
    ASSERT_EQ(telex_new(&t, TELEX_VI, 64), TELEX_OK);
    for (const char *k = "nguwowif"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "người");
    ASSERT_EQ(telex_backspace(t), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "ngườ");
    ASSERT_EQ(telex_backspace(t), TELEX_OK); /* ờ is 3 bytes, one character */
    ASSERT_STR_EQ(telex_text(t), "ngư");
    ASSERT_EQ(telex_len(t), 4);
    /* Typing on continues the word. */
    for (const char *k = "owngf"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "ngường");
    while (telex_len(t) > 0)
        ASSERT_EQ(telex_backspace(t), TELEX_OK);
    ASSERT_EQ(telex_backspace(t), TELEX_E_EMPTY);
    ASSERT_STR_EQ(telex_text(t), "");
    /* After an undo, backspace lets the key act again. */
    for (const char *k = "ass"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_EQ(telex_backspace(t), TELEX_OK);
    ASSERT_EQ(telex_key(t, 's'), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "á");
    /* Back into the previous word, and on with it. */
    telex_clear(t);
    for (const char *k = "viet "; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_EQ(telex_backspace(t), TELEX_OK);
    ASSERT_EQ(telex_key(t, 'j'), TELEX_OK);
    ASSERT_EQ(telex_key(t, 'e'), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "việt");
    telex_free(t);
}

TEST(test_telex_respects_its_cap)
{
    struct telex *t;
    ASSERT_EQ(telex_new(&t, TELEX_PLAIN, 0), TELEX_E_ARG);
    ASSERT_EQ(telex_new(&t, (enum telex_mode)7, 10), TELEX_E_ARG);
    ASSERT_EQ(telex_new(&t, TELEX_PLAIN, 4), TELEX_OK);
    for (const char *k = "abcd"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_EQ(telex_key(t, 'e'), TELEX_E_FULL);
    ASSERT_EQ(telex_key(t, ' '), TELEX_E_FULL);
    ASSERT_STR_EQ(telex_text(t), "abcd");
    ASSERT_EQ(telex_cap(t), 4);
    telex_free(t);

    /* Composing makes text longer: "viet" fits in 5 bytes, "viẹt" (6) does not. */
    ASSERT_EQ(telex_new(&t, TELEX_VI, 5), TELEX_OK);
    for (const char *k = "viet"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_EQ(telex_key(t, 'j'), TELEX_E_FULL);
    ASSERT_STR_EQ(telex_text(t), "viet");
    ASSERT_EQ(telex_backspace(t), TELEX_OK);
    ASSERT_EQ(telex_key(t, 'j'), TELEX_OK); /* "viẹ": 5 bytes */
    ASSERT_STR_EQ(telex_text(t), "viẹ");
    ASSERT_EQ(telex_key(t, 'e'), TELEX_OK); /* ẹ → ệ, same length */
    ASSERT_STR_EQ(telex_text(t), "việ");
    ASSERT_EQ(telex_key(t, 't'), TELEX_E_FULL);
    telex_free(t);

    /* A full 4096-byte text: no key gets past the cap, whatever it does. */
    ASSERT_EQ(telex_new(&t, TELEX_VI, TELEX_DEFAULT_CAP), TELEX_OK);
    const char *keys = "nguwowif ";
    int full = 0;
    for (int i = 0; i < 10000; i++) {
        int rc = telex_key(t, keys[i % 9]);
        ASSERT(rc == TELEX_OK || rc == TELEX_E_FULL);
        full += rc == TELEX_E_FULL;
        ASSERT(telex_len(t) <= TELEX_DEFAULT_CAP);
        ASSERT_EQ(strlen(telex_text(t)), telex_len(t));
    }
    ASSERT(full > 0);
    telex_free(t);
}

TEST(test_telex_refuses_keys_the_keyboard_cannot_send)
{
    struct telex *t;
    ASSERT_EQ(telex_new(&t, TELEX_VI, 16), TELEX_OK);
    ASSERT_EQ(telex_key(t, '\t'), TELEX_E_ARG);
    ASSERT_EQ(telex_key(t, 0), TELEX_E_ARG);
    ASSERT_EQ(telex_key(t, (char)0xc3), TELEX_E_ARG);
    ASSERT_EQ(telex_key(t, 0x7f), TELEX_E_ARG);
    ASSERT_EQ(telex_len(t), 0);
    telex_free(t);
}

TEST(test_telex_rpa_passes_hmong_through)
{
    ASSERT_STR_EQ(typed(TELEX_RPA, "Nyob zoo"), "Nyob zoo");
    ASSERT_STR_EQ(typed(TELEX_RPA, "Kuv pom neeg txawv tuaj hauv zos."),
                  "Kuv pom neeg txawv tuaj hauv zos.");
    ASSERT_STR_EQ(typed(TELEX_RPA, "aas ddoow"), "aas ddoow");
    /* The tone letters b j v s g m d end words; none is ever a mark. */
    ASSERT_STR_EQ(typed(TELEX_RPA, "Kuv tus tij laug pom ob tug neeg nqa tshuaj yeeb hla ciam teb"),
                  "Kuv tus tij laug pom ob tug neeg nqa tshuaj yeeb hla ciam teb");
    ASSERT_STR_EQ(typed(TELEX_RPA, "Hmoob ntawv dej lub zaj mus los ntsib nyiaj txiv"),
                  "Hmoob ntawv dej lub zaj mus los ntsib nyiaj txiv");
    ASSERT_STR_EQ(typed(TELEX_RPA, "taxi 29A-123.45 thuowr w"), "taxi 29A-123.45 thuowr w");
    ASSERT_STR_EQ(typed(TELEX_PLAIN, "vieetj"), "vieetj");
}

TEST(test_telex_switching_keyboards_keeps_the_text)
{
    struct telex *t;
    ASSERT_EQ(telex_new(&t, TELEX_VI, 64), TELEX_OK);
    for (const char *k = "vieetj "; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_EQ(telex_set_mode(t, TELEX_RPA), TELEX_OK);
    ASSERT_EQ(telex_mode(t), TELEX_RPA);
    for (const char *k = "zoo"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_STR_EQ(telex_text(t), "việt zoo");
    ASSERT_EQ(telex_set_mode(t, (enum telex_mode)9), TELEX_E_ARG);
    telex_free(t);

    ASSERT_EQ(telex_mode_parse("telex"), TELEX_VI);
    ASSERT_EQ(telex_mode_parse("rpa"), TELEX_RPA);
    ASSERT_EQ(telex_mode_parse("plain"), TELEX_PLAIN);
    ASSERT_EQ(telex_mode_parse("qwerty"), -1);
    ASSERT_EQ(telex_mode_parse(NULL), -1);
    ASSERT_STR_EQ(telex_mode_name(TELEX_VI), "telex");
    ASSERT(telex_mode_name(5) == NULL);
}

static int all_zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

TEST(test_telex_clear_and_edits_wipe_the_text)
{
    struct telex *t;
    ASSERT_EQ(telex_new(&t, TELEX_VI, 64), TELEX_OK);
    const char *p = telex_text(t); /* the buffer itself, stable for t's life */
    for (const char *k = "Tooi thaays nguwowif laj"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_STR_EQ(p, "Tôi thấy người lạ");
    size_t len = telex_len(t);
    /* Backspace leaves no byte of the removed character behind the NUL. */
    ASSERT_EQ(telex_backspace(t), TELEX_OK);
    ASSERT(all_zero(p + telex_len(t), len - telex_len(t) + 1));
    /* Edits that make the word shorter wipe the tail too: "ươ" (4 bytes)
       → "uow" (3), "á" (2) → "a" (1). */
    for (const char *k = " uoww"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_CONTAINS(p, " uow");
    ASSERT(all_zero(p + telex_len(t), telex_cap(t) + 1 - telex_len(t)));
    for (const char *k = " asz"; *k; k++)
        ASSERT_EQ(telex_key(t, *k), TELEX_OK);
    ASSERT_CONTAINS(p, " uow a");
    ASSERT(all_zero(p + telex_len(t), telex_cap(t) + 1 - telex_len(t)));
    telex_clear(t);
    ASSERT_EQ(telex_len(t), 0);
    ASSERT(all_zero(p, telex_cap(t) + 1));
    telex_free(t);
    telex_free(NULL);
}
