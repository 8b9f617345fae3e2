"""The real `jupyter_kernel_test` suite against the installed kernel, with every optional sample
filled in, so that no test is skipped."""
import unittest

import jupyter_kernel_test as jkt


class RepriseKernelTests(jkt.KernelTests):
    kernel_name = "reprise"
    language_name = "rust"
    file_extension = ".rs"

    code_hello_world = 'println!("hello, world");'
    code_stderr = 'eprintln!("something went to stderr");'

    completion_samples = [
        {"text": ":ru", "matches": {":run", ":runs"}},
        {"text": ":ses", "matches": {":session"}},
        # evcxr's own commands beside Reprise's magics
        {"text": ":de", "matches": {":dep"}},
        {"text": ":fm", "matches": {":fmt"}},
    ]
    complete_code_samples = ["let x = 1;", "fn f() {}", ":run demo.pi seed=7", "let s = \"(\";"]
    incomplete_code_samples = ["fn f() {", "let v = vec![1, 2,", "let s = \"open"]
    invalid_code_samples = [")", "let x = (1];", "fn f() }", "let = 5;"]

    code_page_something = ":help"
    code_generate_error = 'panic!("this cell fails on purpose");'

    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "\"reprise\".len()", "result": "7"},
    ]
    code_display_data = [
        {"code": 'reprise_display("text/html", "<b>bold</b>");', "mime": "text/html"},
        {"code": ":experiments", "mime": "text/html"},
    ]
    code_history_pattern = "1 + *"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = ":run"
    code_clear_output = 'println!("soon gone"); reprise_clear_output(false);'


if __name__ == "__main__":
    unittest.main()
