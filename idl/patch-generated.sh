#!/bin/sh
# Fixes two defects of the C that thrift --gen c_glib (0.17) writes:
#  - the finalizers do not chain up to their parent class, so every
#    generated struct leaks its GObject instance data (48 bytes a struct,
#    several structs a call);
#  - when a binary field arrives twice in one struct, the reader frees the
#    first GByteArray with g_free (), which frees the array's header but
#    not its data, instead of unreffing it.
# Rewrites the files given as arguments in place and fails if a finalizer
# was not found where one was expected.
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
  mv "$f.tmp" "$f"
done
