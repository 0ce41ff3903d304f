#define _GNU_SOURCE /* strptime, timegm */
#include "util/timefmt.h"

#include <stdio.h>

char *timefmt_rfc3339(time_t t, char *buf)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, TIMEFMT_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, TIMEFMT_LEN, "1970-01-01T00:00:00Z");
	return buf;
}

char *timefmt_now_ms(char *buf)
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, TIMEFMT_LEN, "%.20s.%03dZ", base, (int)(ts.tv_nsec / 1000000) % 1000);
	return buf;
}

int timefmt_parse_rfc3339(const char *text, time_t *t)
{
	struct tm tm = {0};
	const char *end = text != NULL ? strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;

	if (end == NULL || *end != '\0')
		return -1;
	*t = timegm(&tm);
	return 0;
}
