-- Names and reasons people give are shown in terminals and on web pages: printable text of bounded length.
-- The value itself is never quoted back, so an escape sequence cannot reach the caller's terminal.
CREATE OR REPLACE FUNCTION sophos.checked_text(p_value text, p_what text, p_max_chars integer)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_text text := btrim(p_value);
BEGIN
    -- Cc (C0, DEL, C1), Cf (soft hyphen, zero-width and direction controls, BOM, tags...) and the line and
    -- paragraph separators.
    IF v_text IS NULL OR v_text = '' OR char_length(v_text) > p_max_chars
       OR v_text ~ '[\u0001-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]'
    THEN
        RAISE EXCEPTION '% must be 1 to % printable characters, without control or format characters (tabs, '
                        'line breaks, terminal escapes, invisible or direction-changing characters such as '
                        'U+200B or U+202E); nothing was changed', p_what, p_max_chars
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v_text;
END
$$;

REVOKE ALL ON FUNCTION sophos.checked_text(text, text, integer) FROM PUBLIC;
