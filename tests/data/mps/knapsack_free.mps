NAME knap
OBJSENSE MAX
ROWS
 N obj
 L w
COLUMNS
 MARKER 'MARKER' 'INTORG'
 a obj 10 w 5
 b obj 13 w 6
 c obj 7 w 4
 d obj 8 w 3
 MARKER 'MARKER' 'INTEND'
RHS
 w 10
BOUNDS
 BV b1 a
 BV b1 b
 BV b1 c
 BV b1 d
ENDATA
