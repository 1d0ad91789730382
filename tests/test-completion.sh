#!/bin/sh
# data/rthunk.bash-completion in a real bash: sourced, its function called
# as bash calls it on Tab, against the real programs. Prints TAP.
: "${RTHUNK:?}" "${RTHUNKD:?}" "${RTHUNKD_SQLITE:?}" "${RTHUNK_TOP_SRCDIR:?}"
set -u
. "$RTHUNK_TOP_SRCDIR/tests/servers.sh"
completion=$RTHUNK_TOP_SRCDIR/data/rthunk.bash-completion

# complete NAME WANTED UNWANTED WORD… : the words of a command line, the
# last one being completed; COMPREPLY must hold WANTED and not UNWANTED
complete_case() {
  name=$1; want=$2; unwanted=$3; shift 3
  got=$(cd "$tmp" && bash -c '
    . "$0"
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    _rthunk
    printf "%s\n" "${COMPREPLY[@]}"' "$completion" "$@" 2>"$tmp/err")
  if printf '%s\n' "$got" | grep -qxF -- "$want" &&
     { [ -z "$unwanted" ] || ! printf '%s\n' "$got" | grep -qxF -- "$unwanted"; }; then
    ok "$name"
  else
    not_ok "$name" "offered: $(echo $got)" "$(cat "$tmp/err")"
  fi
}

mkdir "$tmp/dir"
: > "$tmp/script.rth"
: > "$tmp/notes.txt"

echo "1..13"
complete_case "rthunkd --ma offers --max-memory" --max-memory --port "$RTHUNKD" --ma
complete_case "rthunkd --ma offers --max-queued" --max-queued "" "$RTHUNKD" --ma
complete_case "rthunk --cl offers --cluster" --cluster --local "$RTHUNK" --cl
complete_case "rthunkd-sqlite offers its own --sql-timeout-ms" --sql-timeout-ms "" "$RTHUNKD_SQLITE" --sql-t
complete_case "a FILE option completes file names" notes.txt "" "$RTHUNKD" --token-file no
complete_case "rthunk completes scripts, not other files" script.rth notes.txt "$RTHUNK" ""
complete_case "rthunk completes directories" dir "" "$RTHUNK" d
complete_case "rthunk --reg offers --registry" --registry --local "$RTHUNK" --reg
complete_case "rthunk --registry offers redis://" redis:// "" "$RTHUNK" --registry ""
complete_case "rthunkd --store offers sqlite:" sqlite: redis:// "$RTHUNKD" --store sq
complete_case "rthunk --registry offers rediss://" rediss:// "" "$RTHUNK" --registry redis
complete_case "rthunk --registry-tls-c offers --registry-tls-ca and --registry-tls-cert" --registry-tls-cert --local "$RTHUNK" --registry-tls-c
complete_case "rthunk --registry-tls-ca completes file names" notes.txt "" "$RTHUNK" --registry-tls-ca no
[ "$failed" -eq 0 ]
