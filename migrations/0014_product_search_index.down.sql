ALTER INDEX products_search_idx RESET (fastupdate);
