-- The language each person chose for the UI; NULL until they choose (their browser's
-- Accept-Language decides until then).
ALTER TABLE users ADD COLUMN language TEXT CHECK (language IN ('en', 'zh-CN'));
