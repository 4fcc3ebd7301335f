# expect: enum keyword
enum Branch { GDR; LDR }
