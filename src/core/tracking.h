/* Courier waybill numbers as typed by people. Pure code. */
#ifndef CERTDESK_TRACKING_H
#define CERTDESK_TRACKING_H

#define TRACKING_MAX 32

/* Normalises an SF Express (顺丰) waybill number into out (TRACKING_MAX bytes): spaces and dashes
 * dropped, upper case; "SF" followed by 12 or 13 digits, or the 12-digit numbers of older
 * waybills. Returns 0, or -1 (out empty) when it is not one. */
int tracking_sf_normalise(const char *in, char out[TRACKING_MAX]);
/* Normalises another carrier's number: 6 to 30 of digits and letters. Returns 0 or -1. */
int tracking_other_normalise(const char *in, char out[TRACKING_MAX]);

#endif
