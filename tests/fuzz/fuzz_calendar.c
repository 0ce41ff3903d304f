/* libFuzzer driver for the working-day calendar loader (src/store/calendar.c): the input is a year
 * file an admin drops into data/holidays-cn. It must never crash or leak; a calendar that loads
 * must answer queries in that year without error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/workdays.h"
#include "store/calendar.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static char dir[64], file[96];
	struct workdays_calendar cal;
	char err[512];
	int out = 0;
	FILE *f;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/certdesk-fuzz-cal-%d", (int)getpid());
		mkdir(dir, 0700);
		snprintf(file, sizeof(file), "%s/2026.json", dir);
	}
	f = fopen(file, "wb");
	if (f == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	workdays_calendar_init(&cal);
	if (calendar_load(dir, NULL, 0, &cal, err, sizeof(err)) == 0) {
		if (workdays_add(&cal, 20260101, 10, &out) < 0 || out <= 20260101)
			abort();
	}
	workdays_calendar_free(&cal);
	return 0;
}
