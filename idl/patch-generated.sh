#!/bin/sh
# Makes the finalizers that thrift --gen c_glib (0.17) writes chain up to
# their parent class.  Without it every generated struct leaks its GObject
# instance data (48 bytes a struct, several structs a call).  Rewrites the
# files given as arguments in place and fails if a finalizer was not found
# where one was expected.
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
    { print }
    END { if (patched == 0) exit 1 }
  ' "$f" > "$f.tmp" || { echo "$0: no finalizer found in $f" >&2; rm -f "$f.tmp"; exit 1; }
  mv "$f.tmp" "$f"
done
