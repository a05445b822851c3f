#!/usr/bin/env python3
"""Validate the SOAP header blocks and body payload of EWS request files
against the EWS schema with xmllint (the SOAP envelope itself is not in the
EWS schema, so each child of soap:Header and soap:Body is checked alone).
Usage: validate.py file.xml [...]   (needs xmllint on PATH)
Written for the EWS research folder (../shared/ews/schema/validate); copied
here so that the test runs from a checkout alone."""
import os, subprocess, sys, tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
# MailFerry copy: the schema directory comes from $EWS_SCHEMA_DIR (the
# emulator vendors it in core/testsrv/ewsschema/testdata/schema).
SCHEMA = os.path.join(os.environ.get("EWS_SCHEMA_DIR", HERE), "ews-validate.xsd")
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"

def check(path):
    root = ET.parse(path).getroot()
    ok = True
    for part in ("Header", "Body"):
        sec = root.find(SOAP + part)
        if sec is None:
            continue
        for child in list(sec):
            with tempfile.NamedTemporaryFile("wb", suffix=".xml", delete=False) as f:
                f.write(ET.tostring(child, encoding="utf-8", xml_declaration=True))
                tmp = f.name
            r = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", SCHEMA, tmp],
                               capture_output=True, text=True)
            os.unlink(tmp)
            tag = child.tag.split("}")[1]
            status = "valid" if r.returncode == 0 else "INVALID"
            print(f"{os.path.basename(path)}: {part}/{tag}: {status}")
            if r.returncode != 0:
                ok = False
                print(r.stderr.strip())
    return ok

if __name__ == "__main__":
    sys.exit(0 if all([check(p) for p in sys.argv[1:]]) else 1)
