#!/bin/sh
# Fixes two defects of the C that thrift --gen c_glib (0.17) writes:
#  - the finalizers do not chain up to their parent class, so every
#    generated struct leaks its GObject instance data (48 bytes a struct,
#    several structs a call);
#  - when a binary field arrives twice in one struct, the reader frees the
#    first GByteArray with g_free (), which frees the array's header but
#    not its data, instead of unreffing it;
#  - a list reader never looks at the element type the list header
#    announces: a list<i32> whose header says "strings" (or structs) is
#    read as i32s all the same, so the reader leaves the structure that
#    rthunk_frame_validate() walked and reads garbage as sizes and type
#    codes (Thrift 0.17 then sets a GError twice: a GLib warning any
#    client can cause).  Each list reader now fails, with a GError, on an
#    element type other than the IDL's: the decoder stays in step with the
#    validator, which cannot check this itself since it knows no IDL;
#  - the element of a list<i32> is g_new()ed before it is read and leaked
#    when that read fails (4 bytes per malformed frame); it now lives on
#    the stack;
#  - a string field is read into a gchar*, so a string holding a NUL byte
#    arrives cut short there, silently other than what was sent: each
#    string read now goes through a helper (added to the file) that reads
#    the bytes with their length and fails, with a GError naming the
#    field, on a NUL byte.
# Rewrites the files given as arguments in place and fails if a finalizer
# was not found where one was expected, or a list reader was not
# recognised.
set -e
for f in "$@"; do
  awk '
    /^[a-z0-9_]+_finalize \(GObject \*(object|gobject)\)$/ {
      fn = $1; sub(/_finalize$/, "", fn); infn = 1; body = 0
      arg = ($0 ~ /gobject\)$/) ? "gobject" : "object"
    }
    infn && /^}$/ {
      if (!chained)
        printf "  G_OBJECT_CLASS (g_type_class_peek_parent (g_type_class_peek (%s_get_type ())))->finalize (%s);\n", fn, arg
      infn = 0; chained = 0; patched++
    }
    infn && /parent_class\)->finalize/ { chained = 1 }
    # a g_free of a field: hold it and the lines after it back until the
    # next read shows whether the field is binary
    /^ *g_free\(this_object->[A-Za-z0-9_]*\);$/ { held = $0; n_buf = 0; next }
    held != "" && /thrift_protocol_read_(binary|string)|^ *if \(\(ret = / {
      if ($0 ~ /thrift_protocol_read_binary/) sub(/g_free\(/, "thrift_string_free(", held)
      print held; for (k = 0; k < n_buf; k++) print buf[k]; held = ""; print; next
    }
    held != "" && n_buf < 8 { buf[n_buf++] = $0; next }
    held != "" { print held; for (k = 0; k < n_buf; k++) print buf[k]; held = "" }
    { print }
    END { if (patched == 0) exit 1 }
  ' "$f" > "$f.tmp" || { echo "$0: no finalizer found in $f" >&2; rm -f "$f.tmp"; exit 1; }
  awk '
    function indent_of(line) { match (line, /^ */); return substr (line, 1, RLENGTH) }
    # a scalar element: "gint32* _elem4 = g_new (gint32, 1);" and, after it
    # is appended, "g_free (_elem4);" become a variable on the stack
    /^ *g[a-z0-9]+\* _elem[0-9]+ = g_new \(g[a-z0-9]+, 1\);$/ {
      e_ind = indent_of($0); type = $1; sub(/\*$/, "", type); name = $2
      $0 = e_ind type " " name "_value = 0;\n" e_ind type "* " name " = &" name "_value;"
      on_stack[name] = 1
    }
    /^ *g_free \(_elem[0-9]+\);$/ {
      name = $2; gsub(/[();]/, "", name)
      if (name in on_stack) next
    }
    # a list header: hold it back until the element read shows the type
    /thrift_protocol_read_list_begin \(protocol, &element_type, *&size, error\)\) < 0\)$/ {
      lists++; held = 1; n_buf = 0; ind = indent_of($0)
    }
    held {
      buf[n_buf++] = $0; t = ""
      if ($0 ~ /thrift_struct_read \(THRIFT_STRUCT \(_elem/) t = "T_STRUCT"
      else if ($0 ~ /thrift_protocol_read_(binary|string) \(protocol/) t = "T_STRING"
      else if ($0 ~ /thrift_protocol_read_i16 \(protocol/) t = "T_I16"
      else if ($0 ~ /thrift_protocol_read_i32 \(protocol/) t = "T_I32"
      else if ($0 ~ /thrift_protocol_read_i64 \(protocol/) t = "T_I64"
      else if ($0 ~ /thrift_protocol_read_double \(protocol/) t = "T_DOUBLE"
      else if ($0 ~ /thrift_protocol_read_bool \(protocol/) t = "T_BOOL"
      else if ($0 ~ /thrift_protocol_read_byte \(protocol/) t = "T_BYTE"
      if (t == "" && n_buf < 16) next
      if (t == "") exit 1
      print buf[0]; print buf[1]
      print ind "if (element_type != " t ")"
      print ind "{"
      print ind "  g_set_error (error, THRIFT_PROTOCOL_ERROR, THRIFT_PROTOCOL_ERROR_INVALID_DATA,"
      print ind "               \"a list of type %d where the IDL says %d\", (int) element_type, (int) " t ");"
      print ind "  return -1;"
      print ind "}"
      for (k = 2; k < n_buf; k++) print buf[k]
      held = 0; checked++; next
    }
    { print }
    END { if (held || lists != checked) exit 1 }
  ' "$f.tmp" > "$f.tmp2" || { echo "$0: a list reader in $f was not recognised" >&2; rm -f "$f.tmp" "$f.tmp2"; exit 1; }
  rm -f "$f.tmp"
  mv "$f.tmp2" "$f"
  grep -q 'thrift_protocol_read_string (protocol, ' "$f" || continue
  awk '
    /^#include <thrift\/c_glib\/thrift.h>$/ && !helper {
      print; helper = 1
      print "#include <string.h>"
      print ""
      print "/* A string field, refused when it holds a NUL byte (patch-generated.sh). */"
      print "static gint32"
      print "read_string_without_nul (ThriftProtocol *protocol, gchar **str, const char *field, GError **error)"
      print "{"
      print "  gpointer buf = NULL;"
      print "  guint32 len = 0;"
      print "  gint32 ret = thrift_protocol_read_binary (protocol, &buf, &len, error);"
      print ""
      print "  if (ret < 0)"
      print "    return -1;"
      print "  if (len > 0 && memchr (buf, 0, len) != NULL)"
      print "    {"
      print "      g_free (buf);"
      print "      g_set_error (error, THRIFT_PROTOCOL_ERROR, THRIFT_PROTOCOL_ERROR_INVALID_DATA,"
      print "                   \"the string %s holds a NUL byte\", field);"
      print "      return -1;"
      print "    }"
      print "  *str = g_realloc (buf, (gsize) len + 1);"
      print "  (*str)[len] = 0;"
      print "  return ret;"
      print "}"
      next
    }
    /^[a-z0-9_]+_read \(ThriftStruct \*object, / {
      st = $1; sub(/_read$/, "", st); sub(/^rthunk_wire_/, "", st)
    }
    /thrift_protocol_read_string \(protocol, &[A-Za-z0-9_>-]+, error\)/ {
      match ($0, /thrift_protocol_read_string \(protocol, &[A-Za-z0-9_>-]+, error\)/)
      head = substr ($0, 1, RSTART - 1); tail = substr ($0, RSTART + RLENGTH)
      target = substr ($0, RSTART + 39, RLENGTH - 39 - 8)
      field = target; sub(/^&this_object->/, "", field)
      if (field ~ /^&_elem/) field = "(list element)"
      $0 = head "read_string_without_nul (protocol, " target ", \"" st "." field "\", error)" tail
      rewritten++
    }
    { print }
    END { if (!helper || rewritten == 0) exit 1 }
  ' "$f" > "$f.tmp" || { echo "$0: the string reads in $f were not recognised" >&2; rm -f "$f.tmp"; exit 1; }
  mv "$f.tmp" "$f"
done
