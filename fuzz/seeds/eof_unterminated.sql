-- Final statement without a terminating semicolon.

-- expect: none
SELECT 1;

-- expect: delete-without-where@data-loss
DELETE FROM sessions
