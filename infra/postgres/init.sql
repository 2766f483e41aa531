-- Databases and roles of the distributed deployment. Passwords are set by the operator
-- (ALTER ROLE ... PASSWORD) from the secrets store; none is written here.
create role zhongtai login;
create role airflow login;
create database zhongtai owner zhongtai;
create database airflow owner airflow;
-- query roles own nothing: analysts read marts, grid workers read their district's rows
-- (row-level security on marts.verification_tasks), export readers read exports only.
create role analyst nologin;
create role grid_worker nologin;
create role export_reader nologin;
