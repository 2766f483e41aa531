"""Chinese identifiers: resident ID numbers (GB 11643) and credit codes (GB 32100)."""
