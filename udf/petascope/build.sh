#!/usr/bin/env bash
# Compile crop/Classify.java against an installed petascope and package it as crop.jar.
#
#   udf/petascope/build.sh PETASCOPE OUT_DIR
#
# PETASCOPE: the rasdaman.war of the installation ($RMANHOME/share/rasdaman/war/rasdaman.war) or a
# folder of petascope jars. Needs javac and jar (a JDK). Writes OUT_DIR/crop.jar.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
petascope=${1:?usage: build.sh PETASCOPE OUT_DIR}
out=${2:?usage: build.sh PETASCOPE OUT_DIR}
command -v javac >/dev/null || { echo "build.sh: javac not found (install a JDK)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -f "$petascope" ]; then
  (cd "$work" && jar xf "$petascope")  # a war: classes in WEB-INF/classes and WEB-INF/lib/*.jar
  cp="$work/WEB-INF/classes:$work/WEB-INF/lib/*:$work/BOOT-INF/classes:$work/BOOT-INF/lib/*"
elif [ -d "$petascope" ]; then
  cp="$petascope/*"
else
  echo "build.sh: $petascope is neither a war file nor a folder of jars" >&2; exit 2
fi
mkdir -p "$work/classes" "$out"
javac -nowarn -cp "$cp" -d "$work/classes" "$here/src/main/java/crop/Classify.java"
jar cf "$out/crop.jar.part" -C "$work/classes" .
mv "$out/crop.jar.part" "$out/crop.jar"
echo "$out/crop.jar"
