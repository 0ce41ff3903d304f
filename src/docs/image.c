#include "docs/image.h"

#include <gd.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
};

/* Returns 1 when w x h is within the bounds. */
static int dims_ok(unsigned long long w, unsigned long long h)
{
	return w > 0 && h > 0 && w <= IMAGE_MAX_SIDE && h <= IMAGE_MAX_SIDE && w * h <= IMAGE_MAX_PIXELS;
}

/* Reads a big-endian 32-bit value. */
static unsigned long be32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* libjpeg reports corrupt data as warnings and goes on: treat every one as fatal. */
static void jpeg_fail(j_common_ptr cinfo)
{
	longjmp(((struct jerr *)cinfo->err)->jump, 1);
}

static void jpeg_warn(j_common_ptr cinfo, int level)
{
	if (level < 0)
		longjmp(((struct jerr *)cinfo->err)->jump, 1);
}

/* Decodes a JPEG fully. Returns 0, 1 (corrupt), 2 (too many pixels) or 3 (bytes after its end). */
static int jpeg_check(const unsigned char *d, size_t len, struct image_info *info)
{
	struct jpeg_decompress_struct cinfo;
	struct jerr err;
	JSAMPARRAY row = NULL;
	volatile int rc = 1;

	cinfo.err = jpeg_std_error(&err.mgr);
	err.mgr.error_exit = jpeg_fail;
	err.mgr.emit_message = jpeg_warn;
	jpeg_create_decompress(&cinfo);
	if (setjmp(err.jump) != 0)
		goto out;
	jpeg_mem_src(&cinfo, d, (unsigned long)len);
	jpeg_read_header(&cinfo, TRUE);
	info->width = cinfo.image_width;
	info->height = cinfo.image_height;
	if (cinfo.saw_JFIF_marker && cinfo.density_unit == 1) {
		info->dpi_x = cinfo.X_density;
		info->dpi_y = cinfo.Y_density;
	} else if (cinfo.saw_JFIF_marker && cinfo.density_unit == 2) {
		info->dpi_x = (unsigned)(cinfo.X_density * 2.54 + 0.5);
		info->dpi_y = (unsigned)(cinfo.Y_density * 2.54 + 0.5);
	}
	if (!dims_ok(info->width, info->height)) {
		rc = 2;
		goto out;
	}
	/* Every entropy-coded bit is still read (so corrupt data is still caught), but an eighth of the
	 * size in grey skips most of the inverse DCT, upsampling and colour conversion: 2-3 times faster
	 * on scans (issue 17). The pixels are not kept. */
	cinfo.scale_num = 1;
	cinfo.scale_denom = 8;
	if (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_GRAYSCALE)
		cinfo.out_color_space = JCS_GRAYSCALE;
	jpeg_start_decompress(&cinfo);
	row = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE,
					 cinfo.output_width * (JDIMENSION)cinfo.output_components, 1);
	while (cinfo.output_scanline < cinfo.output_height)
		jpeg_read_scanlines(&cinfo, row, 1);
	jpeg_finish_decompress(&cinfo);
	/* libjpeg stops at the end-of-image marker: anything left over was smuggled in. */
	rc = cinfo.src->bytes_in_buffer > 0 ? 3 : 0;
out:
	jpeg_destroy_decompress(&cinfo);
	return rc;
}

/* Decodes a PNG fully. Returns 0, 1 (corrupt), or 2 (too many pixels). */
static int png_check(const unsigned char *d, size_t len, struct image_info *info)
{
	png_image img;
	png_bytep buf;
	int rc;

	/* The header's own claim is bounded before libpng looks at anything. */
	if (len < 24 || memcmp(d + 12, "IHDR", 4) != 0)
		return 1;
	if (!dims_ok(be32(d + 16), be32(d + 20)))
		return 2;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, d, len))
		return 1;
	info->width = img.width;
	info->height = img.height;
	if (!dims_ok(img.width, img.height)) {
		png_image_free(&img);
		return 2;
	}
	img.format = PNG_FORMAT_GRAY; /* the smallest buffer that still makes libpng decode every row */
	buf = malloc(PNG_IMAGE_SIZE(img));
	if (buf == NULL) {
		png_image_free(&img);
		return 1;
	}
	rc = png_image_finish_read(&img, NULL, buf, 0, NULL) ? 0 : 1;
	free(buf);
	png_image_free(&img);
	return rc;
}

/* Returns the offset just past a PNG's IEND chunk, walking the chunks, or 0 when malformed. */
static size_t png_end(const unsigned char *d, size_t len)
{
	size_t p = 8;

	while (p + 12 <= len) {
		size_t n = (size_t)d[p] << 24 | (size_t)d[p + 1] << 16 | (size_t)d[p + 2] << 8 | d[p + 3];
		if (n > len || p + 12 + n > len)
			return 0;
		if (memcmp(d + p + 4, "IEND", 4) == 0)
			return p + 12 + n;
		p += 12 + n;
	}
	return 0;
}

/* Reads a little-endian 32-bit value. */
static long le32(const unsigned char *p)
{
	return (long)((unsigned long)p[0] | (unsigned long)p[1] << 8 | (unsigned long)p[2] << 16 |
		      (unsigned long)p[3] << 24);
}

/* Checks a BMP's header bounds, then decodes it with libgd. Returns 0, 1 or 2 as above. */
static int bmp_check(const unsigned char *d, size_t len, struct image_info *info)
{
	gdImagePtr im;
	long w, h;

	if (len < 26 || (size_t)le32(d + 2) != len)
		return 1;
	w = le32(d + 18);
	h = le32(d + 22);
	h = h < 0 ? -h : h;
	if (w <= 0 || !dims_ok((unsigned long long)w, (unsigned long long)h))
		return 2;
	im = gdImageCreateFromBmpPtr((int)len, (void *)d);
	if (im == NULL)
		return 1;
	info->width = (unsigned)gdImageSX(im);
	info->height = (unsigned)gdImageSY(im);
	gdImageDestroy(im);
	return 0;
}

int image_inspect(const unsigned char *d, size_t len, struct image_info *info, const char **code,
		  const char **message)
{
	static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	int rc;

	memset(info, 0, sizeof(*info));
	if (len > IMAGE_MAX_BYTES) {
		*code = "file_too_large";
		*message = "图片大小不能超过 1M（1,048,576 字节），请降低扫描分辨率或压缩后重新上传";
		return -1;
	}
	if (len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) {
		*info = (struct image_info){.media_type = "image/jpeg", .ext = "jpg"};
		rc = jpeg_check(d, len, info);
	} else if (len >= 8 && memcmp(d, png_magic, 8) == 0) {
		*info = (struct image_info){.media_type = "image/png", .ext = "png"};
		rc = png_check(d, len, info);
		if (rc == 0 && png_end(d, len) != len)
			rc = 3;
	} else if (len >= 2 && d[0] == 'B' && d[1] == 'M') {
		*info = (struct image_info){.media_type = "image/bmp", .ext = "bmp"};
		rc = bmp_check(d, len, info);
	} else {
		*code = "file_type";
		*message = "只接受 jpeg、jpg、png、bmp 格式的图片（按文件内容判断，修改扩展名无效）";
		return -1;
	}
	if (rc == 0 && (info->width < IMAGE_MIN_SIDE || info->height < IMAGE_MIN_SIDE))
		rc = 4;
	if (rc == 0)
		return 0;
	*code = rc == 4   ? "image_too_small"
		: rc == 2 ? "image_dimensions"
		: rc == 3 ? "file_trailing_data"
			  : "image_corrupt";
	*message = rc == 4 ? "图片尺寸过小（每边至少 200 像素），无法看清资料内容，请用扫描仪重新扫描"
		   : rc == 2 ? "图片尺寸过大（每边不超过 10000 像素，总像素不超过 4000 万）"
		   : rc == 3 ? "图片文件末尾附带了其他数据，请重新扫描保存后上传"
			     : "图片文件已损坏或不完整，无法打开，请重新扫描保存后上传";
	return -1;
}
