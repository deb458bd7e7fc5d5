/*
 * pictos — the project's own pictograms, by code point.
 *
 * They are glyphs of fonts/HomthuPictos.ttf, in Unicode's Private Use
 * Area, drawn from the SVG sources in assets/pictograms/ (why each one
 * looks as it does: docs/pictograms.md). The renderer draws a code point
 * in this range from that font, in the colour the draw list gives, at any
 * size; anything else from the emoji font.
 */
#ifndef HOMTHU_PICTOS_H
#define HOMTHU_PICTOS_H

#define PICTO_FIRST 0xE000u
#define PICTO_LAST 0xE0FFu
#define PICTO_IS_OURS(cp) ((cp) >= PICTO_FIRST && (cp) <= PICTO_LAST)

/* What happened (the category screen). */
#define PICTO_BORDER 0xE000u      /* a person passing a border marker */
#define PICTO_DRUGS 0xE001u       /* drugs as they look here: poppy pod, packets */
#define PICTO_WEAPONS 0xE002u     /* a home-made long gun */
#define PICTO_SMUGGLING 0xE003u   /* goods carried in a back-basket */
#define PICTO_THEFT 0xE004u       /* a buffalo led away */
#define PICTO_TRAFFICKING 0xE005u /* a person led by the wrist */
#define PICTO_OTHER 0xE006u       /* a person speaking */

/* When it happened. */
#define PICTO_TODAY 0xE010u     /* the sun */
#define PICTO_YESTERDAY 0xE011u /* the sun with a back arrow */
#define PICTO_WEEK 0xE012u      /* seven marks */
#define PICTO_EARLIER 0xE013u   /* many moons */

/* The frame and the actions. */
#define PICTO_BACK 0xE020u      /* back / cancel: an arrow to the left */
#define PICTO_HEAR 0xE021u      /* hear again: a speaker with waves */
#define PICTO_RECORD 0xE022u    /* speak: a mouth with sound, on the red button */
#define PICTO_DONE 0xE023u      /* done / send: a tick */
#define PICTO_DISCARD 0xE024u   /* throw away, don't send: a cross */
#define PICTO_PLAY 0xE025u      /* listen back: a triangle */
#define PICTO_KEYBOARD 0xE026u  /* write a few words */
#define PICTO_POSTBOX 0xE027u   /* the mailbox: the start screen */
#define PICTO_LOCK 0xE028u      /* only the post can open it */
#define PICTO_MIC 0xE029u       /* the microphone (technician) */
#define PICTO_HANDSET 0xE02Au   /* the telephone handset */
#define PICTO_WRENCH 0xE02Bu    /* the technician */
#define PICTO_NO_CAMERA 0xE02Cu /* no camera, no name */
#define PICTO_PRACTICE 0xE02Du  /* practice: a teacher's pointer */

/* Languages: a picture of their own, never the same one twice. */
#define PICTO_LANG_VI 0xE040u  /* the conical hat (nón lá) */
#define PICTO_LANG_HMN 0xE041u /* a Hmong embroidered collar motif */

/* Added after the first set (kept at the end: code points never move). */
#define PICTO_STOP 0xE02Eu    /* stop recording: a square */
#define PICTO_WARNING 0xE02Fu /* something went wrong: a triangle with "!" */
#define PICTO_WAIT 0xE030u    /* please wait / time running out: an hourglass */

#endif
