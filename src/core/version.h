/* version — the release of the kiosk software, shown to technicians. */
#ifndef HOMTHU_VERSION_H
#define HOMTHU_VERSION_H
#define HOMTHU_VERSION "0.1.0"
#endif
