SELECT E'it\'s; DROP' , $a$ $$ $a$; /* /* */ DROP TABLE t; */ DROP TABLE "é😀" -- x
