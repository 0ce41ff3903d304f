/* bench/mkjpeg.c: writes a scan-like JPEG of about TARGET bytes (a grey page with text-like noise,
 * which compresses like a real scan) for bench/all.sh's upload row. Usage: mkjpeg OUT TARGET_BYTES.
 * Built by all.sh with: cc -O2 mkjpeg.c -ljpeg */
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t */

/* Encodes a w x h page with quality q into *out; returns its size. */
static unsigned long encode(int w, int h, int q, unsigned char **out)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned long len = 0;
	unsigned char *row = malloc((size_t)w * 3);
	unsigned seed = 12345;

	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	*out = NULL;
	jpeg_mem_dest(&c, out, &len);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, q, TRUE);
	c.density_unit = 1; /* dots per inch, as a scanner writes */
	c.X_density = c.Y_density = 200;
	jpeg_start_compress(&c, TRUE);
	/* 32 bytes a benchmark rewrites for each upload, so that no two uploads are the same file */
	jpeg_write_marker(&c, JPEG_COM, (const JOCTET *)"certdesk-bench:................................", 47);
	while (c.next_scanline < c.image_height) {
		int y = (int)c.next_scanline;
		for (int x = 0; x < w; x++) {
			seed = seed * 1103515245u + 12345u;
			int ink = ((y / 24) % 3 != 0) && ((seed >> 16) % 5 == 0); /* lines of "text" */
			int v = ink ? 40 + (int)((seed >> 8) % 60) : 235 + (int)((seed >> 12) % 20);
			row[3 * x] = (unsigned char)v;
			row[3 * x + 1] = (unsigned char)(v - (ink ? 0 : 3));
			row[3 * x + 2] = (unsigned char)(v - (ink ? 0 : 8));
		}
		JSAMPROW rp = row;
		jpeg_write_scanlines(&c, &rp, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	return len;
}

int main(int argc, char **argv)
{
	unsigned long target, len = 0;
	unsigned char *best = NULL, *buf;
	unsigned long best_len = 0;
	FILE *f;

	if (argc != 3 || (target = strtoul(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: mkjpeg OUT TARGET_BYTES\n");
		return 2;
	}
	/* The largest A4-at-200-dpi-shaped page not above target, at quality 85. */
	for (int w = 400; w <= 4000; w += 50) {
		len = encode(w, w * 297 / 210, 85, &buf);
		if (len > target) {
			free(buf);
			break;
		}
		free(best);
		best = buf;
		best_len = len;
	}
	if (best == NULL || (f = fopen(argv[1], "wb")) == NULL || fwrite(best, 1, best_len, f) != best_len ||
	    fclose(f) != 0) {
		fprintf(stderr, "mkjpeg: cannot write %s\n", argv[1]);
		return 1;
	}
	printf("%lu\n", best_len);
	free(best);
	return 0;
}
