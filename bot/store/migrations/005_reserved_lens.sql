-- Reserved for the lens (issue 17), which ships its own 005; this placeholder keeps the numbers
-- without a gap until then. It changes nothing.
SELECT 1;
