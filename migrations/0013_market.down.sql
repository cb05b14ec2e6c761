DROP TABLE product_imports;
DROP TABLE product_sources;
DROP TABLE product_images;
DROP TABLE product_variants;
DROP TABLE products;
DROP TABLE product_categories;
DROP TABLE markets;
DROP FUNCTION market_fold(text);
-- unaccent stays: other databases' objects may use it, and it is harmless.
