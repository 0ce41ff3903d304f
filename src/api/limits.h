/* Abuse limits of the account endpoints, in one place. */
#ifndef CERTDESK_LIMITS_H
#define CERTDESK_LIMITS_H

#define SMS_TTL_S 300           /* an SMS code lives 5 minutes */
#define SMS_MAX_ATTEMPTS 5      /* wrong guesses before a code is dead */
#define SMS_PER_MOBILE_MINUTE 1 /* codes to one mobile per minute */
#define SMS_PER_MOBILE_HOUR 5   /* ... and per hour */
#define SMS_PER_IP_HOUR 20      /* codes requested from one address per hour */
#define LOGIN_MAX_FAILURES 5    /* wrong passwords in a row before the account locks */
#define LOGIN_LOCK_S 900        /* for 15 minutes */
#define LOGIN_IP_FAILURES 30    /* failed logins from one address per window */
#define LOGIN_IP_WINDOW_S 900

#endif
