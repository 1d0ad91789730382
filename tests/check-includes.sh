#!/bin/sh
# Checks the layering of src/: a file includes headers of its own folder or
# of a folder below it, never above. The folders, bottom to top:
#   core < lang < wire < client < server < session < src/ (the umbrella)
# Also: the umbrella rthunk.h is included by no file of the library, and
# every project header a file names exists in one of the folders.
# Prints TAP, one test per file.
set -u
src="${RTHUNK_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/src"

rank_of_folder() {
  case "$1" in
    core) echo 0 ;; lang) echo 1 ;; wire) echo 2 ;; client) echo 3 ;;
    server) echo 4 ;; session) echo 5 ;; .) echo 6 ;; *) echo 99 ;;
  esac
}

# The folder a header lives in; generated headers are placed by their names.
folder_of_header() {
  case "$1" in
    rthunk-version.h) echo core; return ;;
    rthunk_wire_*.h) echo wire; return ;;
    config.h) echo config; return ;;
  esac
  for d in core lang wire client server session; do
    [ -f "$src/$d/$1" ] && { echo "$d"; return; }
  done
  [ -f "$src/$1" ] && { echo .; return; }
  echo missing
}

n=0
failed=0
for dir in core lang wire client server session; do
  rank=$(rank_of_folder "$dir")
  for file in "$src/$dir"/*.c "$src/$dir"/*.h; do
    [ -f "$file" ] || continue
    n=$((n + 1))
    bad=
    for header in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file"); do
      where=$(folder_of_header "$header")
      case "$where" in
        config) continue ;;
        missing) bad="$bad $header (not in any folder of src/)"; continue ;;
      esac
      if [ "$(rank_of_folder "$where")" -gt "$rank" ]; then
        bad="$bad $header (from $where/, above $dir/)"
      fi
    done
    name=${file#"$src"/}
    if [ -z "$bad" ]; then
      printf 'ok %d - %s\n' "$n" "$name"
    else
      failed=$((failed + 1))
      printf 'not ok %d - %s includes upward:%s\n' "$n" "$name" "$bad"
    fi
  done
done
# po/POTFILES.in names every file that marks a message for translation
n=$((n + 1))
top=${src%/src}
stale=$(cd "$top" && find client services src -name '*.c' ! -path '*/gen-c_glib/*' |
  xargs grep -lE '(^|[^A-Za-z0-9_])N?_ ?\("' | LC_ALL=C sort |
  diff - "$top/po/POTFILES.in" | sed -n 's/^[<>] //p' | grep -v '^#' | tr '\n' ' ')
if [ -z "$stale" ]; then
  printf 'ok %d - po/POTFILES.in is up to date\n' "$n"
else
  failed=$((failed + 1))
  printf 'not ok %d - po/POTFILES.in is out of date (run po/update-potfiles.sh): %s\n' "$n" "$stale"
fi
printf '1..%d\n' "$n"
[ "$failed" -eq 0 ]
