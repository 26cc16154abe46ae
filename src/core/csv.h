/* csv.h - RFC 4180 rows into a bounded buffer, safe to open in a spreadsheet.
 *
 * Cells are separated by ',' and rows end with CRLF. A cell holding ',', '"', CR or LF is enclosed in
 * double quotes with inner quotes doubled. A cell starting with '=', '+', '-', '@', TAB or CR would be
 * read as a formula by Excel, LibreOffice or Google Sheets (CSV injection): it gets a leading single quote,
 * which those programs show as text. Pure over the buffer; not thread-safe on one buffer. */
#ifndef CABANAS_CSV_H
#define CABANAS_CSV_H

#include "buf.h"

/* 1 when `s` would start a formula (see above). */
int csv_needs_neutralizing(const char *s);

/* Appends one cell (NULL is an empty cell), preceded by ',' unless `first`. 0 or BUF_TOO_BIG. */
int csv_cell(struct buf *b, const char *value, int first);

/* Appends the n cells and CRLF. 0 or BUF_TOO_BIG (the buffer may then hold part of the row). */
int csv_row(struct buf *b, const char *const *cells, int n);

#endif
