/* codecutil.h — the codec (src/wire/rthunk-codec.c) beside the generated Thrift
 * code it stands in for: the bytes the generated writer writes, what the
 * generated reader and rthunk-wire.c make of bytes, tree comparisons, and
 * the check that both readers agree on some bytes. Shared by test-codec,
 * test-wire, test-reader and the fuzz target fuzz-codec. */
#pragma once

#include "rthunk.h"
#include "rthunk-codec.h"
#include "rthunk-wire.h"

/* Same kind, value (floats bit for bit), text, position and source. */
void assert_same_node  (RthunkNode  *a,
                        RthunkNode  *b);
/* The same, but for positions and source: a form read again from its
 * printed text. */
void assert_same_form  (RthunkNode  *a,
                        RthunkNode  *b);
/* How many nodes the tree under @node holds, @node included. */
guint count_nodes       (RthunkNode  *node);
/* Same kind and value (floats bit for bit), through every item. */
void assert_same_value (RthunkValue *a,
                        RthunkValue *b);
/* Same kind, variable numbers and classes, through every child. */
void assert_same_type  (RthunkType  *a,
                        RthunkType  *b);

/* [[…[1]…]]: @depth lists around an int. (transfer full) */
RthunkValue *nested_value (guint depth);

/* The bytes thrift_struct_write() writes for @object (a ThriftStruct) with
 * the binary protocol over a ThriftMemoryBuffer. (transfer full) */
GByteArray *generated_bytes (gpointer object);

typedef enum
{
  CODEC_TREE_AST,
  CODEC_TREE_VALUE,
  CODEC_TREE_TYPE,
} CodecTree;

/* What the generated code makes of the struct in @data, as rthunkd would
 * read it: the bytes in a message of their own, rthunk_frame_validate(),
 * thrift_struct_read(), then rthunk_wire_read_ast (@max_nodes),
 * rthunk_wire_read_value or rthunk_wire_read_type. NULL with @error set
 * (RTHUNK_FRAME_ERROR, THRIFT_PROTOCOL_ERROR, … or RTHUNK_ERROR). */
gpointer generated_read (CodecTree      kind,
                         const guint8  *data,
                         gsize          len,
                         guint          max_nodes,
                         GError       **error);

/* The same with the codec; @len_read, if given, says where it stopped. */
gpointer codec_read     (CodecTree      kind,
                         const guint8  *data,
                         gsize          len,
                         guint          max_nodes,
                         gsize         *len_read,
                         GError       **error);

void codec_tree_free (CodecTree kind,
                      gpointer  tree);

typedef enum
{
  CODEC_AGREED_TREE,    /* both built the same tree */
  CODEC_AGREED_ERROR,   /* the codec refused with an RTHUNK_ERROR, and so did the generated code */
  CODEC_FELL_BACK,      /* the codec left the bytes to the generated code */
  CODEC_REFUSED_FRAME,  /* bytes the frame layer refuses: the codec built nothing */
} CodecOutcome;

/* Reads @data with both and asserts that they agree: a tree from the codec
 * is the generated code's, and the codec's writer and reader give it back
 * again; an error from the codec is the generated code's when that got as
 * far as rthunk-wire.c (same code and message), and some refusal
 * otherwise. @codec_error, if given, receives the codec's error. */
CodecOutcome codec_check (CodecTree      kind,
                          const guint8  *data,
                          gsize          len,
                          guint          max_nodes,
                          GError       **codec_error);
