#!/bin/sh
# make-tls-certs.sh DIR — test certificates, made afresh for each run:
# ca.pem/ca.key (the test CA), server.pem/server.key (127.0.0.1 as an IP
# SAN, signed by the CA), client.pem/client.key (signed by the CA), and
# other-ca.pem with other.pem/other.key (a CA no test trusts, and a server
# certificate it signed).
set -e
dir=$1
mkdir -p "$dir"
cd "$dir"
ssl() { openssl "$@" 2>/dev/null; }
ca() {  # NAME SUBJECT
  ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=$2" -keyout "$1.key" -out "$1.pem"
}
leaf() {  # NAME CA SUBJECT EXTENSIONS
  ssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/CN=$3" -keyout "$1.key" -out "$1.csr"
  printf '%s\n' "$4" > "$1.ext"
  ssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
      -days 2 -extfile "$1.ext" -out "$1.pem"
  rm -f "$1.csr" "$1.ext"
}
ca ca "rthunk test CA"
ca other-ca "rthunk untrusted CA"
leaf server ca 127.0.0.1 "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf client ca "rthunk test client" "extendedKeyUsage=clientAuth"
leaf other other-ca 127.0.0.1 "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
