// PF global control: the SR-IOV capability's NumVFs, which enables VFs 1..NumVFs.
// Reachable only through the PF's register space.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module pf_ctrl #(
    // VFs the hardware implements (SR-IOV TotalVFs).
    parameter int NUM_VF = 2,
    // Queue pairs per function, reported to the driver.
    parameter int NUM_QUEUES = 1
) (
    input  wire logic          clk,
    input  wire logic          rst,

    input  wire logic          reg_wr,
    input  wire logic          reg_rd,
    input  wire logic [15:0]   reg_addr,
    input  wire logic [31:0]   reg_wdata,
    output logic [31:0]        reg_rdata,

    // Bit n-1 enables VF n.
    output logic [NUM_VF-1:0]  vf_enable
);

  localparam logic [15:0] PF_ID_OFF   = 16'h0000;
  localparam logic [15:0] NUM_VFS_OFF = 16'h0004;
  localparam int NVF_W = $clog2(NUM_VF + 1);

  if (NUM_VF < 1 || NUM_VF > 254) begin : g_check
    $fatal(1, "%m: NUM_VF=%0d outside 1..254", NUM_VF);
  end

  logic [NVF_W-1:0] num_vfs_reg;

  always_ff @(posedge clk) begin
    if (rst) begin
      num_vfs_reg <= '0;
      reg_rdata   <= '0;
    end else begin
      // A NumVFs above TotalVFs is refused: the old value stays.
      if (reg_wr && reg_addr == NUM_VFS_OFF && reg_wdata <= 32'(NUM_VF)) begin
        num_vfs_reg <= NVF_W'(reg_wdata);
      end
      if (reg_rd) begin
        unique case (reg_addr)
          PF_ID_OFF:   reg_rdata <= {16'h5A00, 8'(NUM_QUEUES), 8'(NUM_VF)};
          NUM_VFS_OFF: reg_rdata <= 32'(num_vfs_reg);
          default:     reg_rdata <= 32'h0;
        endcase
      end
    end
  end

  always_comb begin
    for (int n = 1; n <= NUM_VF; n++) begin
      vf_enable[n-1] = (NVF_W'(n) <= num_vfs_reg);
    end
  end

endmodule

`resetall
